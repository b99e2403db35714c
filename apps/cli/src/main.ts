console.log('cli: not implemented yet');
process.exit(1);
