console.log('mixer: not implemented yet');
process.exit(1);
