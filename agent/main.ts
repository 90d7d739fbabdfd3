// Placeholder: the agent lands with issue 3.
process.stdout.write('');
