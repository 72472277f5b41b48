// The handlers log every job; in tests only errors are worth reading.
process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
