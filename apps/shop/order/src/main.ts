console.log('shop-order: not implemented yet');
process.exit(1);
