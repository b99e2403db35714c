console.log('bookinfo-details: not implemented yet');
process.exit(1);
