console.log('citadel: not implemented yet');
process.exit(1);
