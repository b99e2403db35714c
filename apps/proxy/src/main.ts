console.log('proxy: not implemented yet');
process.exit(1);
