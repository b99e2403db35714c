console.log('bookinfo-productpage: not implemented yet');
process.exit(1);
