// The handlers log every job and every 503 the fault tests provoke; tests
// assert on answers instead. POWERTOOLS_LOG_LEVEL=INFO npm test shows them.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
