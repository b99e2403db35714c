console.log('shop-shipping: not implemented yet');
process.exit(1);
