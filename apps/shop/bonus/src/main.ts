console.log('shop-bonus: not implemented yet');
process.exit(1);
