console.log('shop-home: not implemented yet');
process.exit(1);
