console.log('bookinfo-reviews: not implemented yet');
process.exit(1);
