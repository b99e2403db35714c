#!/usr/bin/env node
// Scaffolds a project with the workspace's conventions:
//   node tools/new-project.mjs app apps/pilot pilot "type:app,scope:pilot"
//   node tools/new-project.mjs lib libs/core core "type:lib,scope:core"
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';

const [kind, dir, name, tagList = ''] = process.argv.slice(2);
if (!['app', 'lib'].includes(kind) || !dir || !name) {
  console.error('usage: new-project.mjs app|lib <dir> <name> [tags,comma,separated]');
  process.exit(2);
}
const root = new URL('..', import.meta.url).pathname;
const abs = join(root, dir);
const up = relative(abs, root) || '.';
const tags = tagList.split(',').filter(Boolean);
mkdirSync(join(abs, 'src'), { recursive: true });

// No test target: @nx/jest/plugin (nx.json) infers `test` from the jest.config.cjs written below.
const targets = {
  lint: { executor: '@nx/eslint:lint', options: { lintFilePatterns: [`${dir}/**/*.ts`] } },
};
if (kind === 'app') {
  targets.build = {
    executor: '@nx/esbuild:esbuild',
    outputs: ['{options.outputPath}'],
    options: {
      main: `${dir}/src/main.ts`,
      outputPath: `dist/apps/${name}`,
      outputFileName: 'main.js',
      tsConfig: `${dir}/tsconfig.json`,
      platform: 'node',
      format: ['cjs'],
      bundle: true,
      thirdParty: false,
      skipTypeCheck: true,
      generatePackageJson: false,
      sourcemap: true,
      esbuildOptions: { outExtension: { '.js': '.js' } },
    },
  };
}
const project = {
  name,
  $schema: `${up}/node_modules/nx/schemas/project-schema.json`,
  sourceRoot: `${dir}/src`,
  projectType: kind === 'app' ? 'application' : 'library',
  tags,
  targets,
};
const write = (file, content) => {
  const p = join(abs, file);
  if (!existsSync(p)) writeFileSync(p, content);
};
write('project.json', JSON.stringify(project, null, 2) + '\n');
write(
  'jest.config.cjs',
  `const { projectJestConfig } = require('${up}/jest.preset.cjs');\n\nmodule.exports = projectJestConfig(__dirname);\n`,
);
write(
  'tsconfig.json',
  JSON.stringify({ extends: `${up}/tsconfig.base.json`, include: ['src/**/*.ts'] }, null, 2) + '\n',
);
if (kind === 'app') write('src/main.ts', `console.log('${name}: not implemented yet');\nprocess.exit(1);\n`);
else write('src/index.ts', 'export {};\n');
console.log(`created ${kind} ${name} in ${dir}`);
