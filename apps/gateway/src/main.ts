console.log('gateway: not implemented yet');
process.exit(1);
