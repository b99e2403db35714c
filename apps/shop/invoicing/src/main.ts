console.log('shop-invoicing: not implemented yet');
process.exit(1);
