console.log('bookinfo-ratings: not implemented yet');
process.exit(1);
