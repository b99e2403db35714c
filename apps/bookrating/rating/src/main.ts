console.log('bookrating-rating: not implemented yet');
process.exit(1);
