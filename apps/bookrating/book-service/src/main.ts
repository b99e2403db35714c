console.log('bookrating-book-service: not implemented yet');
process.exit(1);
