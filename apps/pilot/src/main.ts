console.log('pilot: not implemented yet');
process.exit(1);
