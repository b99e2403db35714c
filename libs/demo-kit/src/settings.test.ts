import { parseDemoSettings, renderDemoHelp, serverSpecs, DemoSettingError } from './settings';

const specs = {
  ...serverSpecs(9080),
  failRandomly: { kind: 'bool', default: false, description: 'fail half', env: 'FAILRANDOMLY' },
} as const;

test('flags win over env, env over defaults', () => {
  const { settings } = parseDemoSettings(specs, ['--port', '0'], {
    PORT: '1234',
    FAILRANDOMLY: 'true',
    HOST: '127.0.0.2',
  });
  expect(settings).toEqual({ host: '127.0.0.2', port: 0, logLevel: 'info', failRandomly: true });
  expect(parseDemoSettings(specs, ['--fail-randomly'], {}).settings.failRandomly).toBe(true);
  expect(parseDemoSettings(specs, ['--port=81'], {}).settings.port).toBe(81);
});

test('bad flags and values are refused with a clear message', () => {
  expect(() => parseDemoSettings(specs, ['--nope'], {})).toThrow(DemoSettingError);
  expect(() => parseDemoSettings(specs, [], { PORT: 'eighty' })).toThrow(/\$PORT: expected an integer/);
  expect(renderDemoHelp('x', specs)).toContain('--fail-randomly <bool>  [$FAILRANDOMLY]');
});
