package web

// Internals exported for the external tests (package web_test) and fuzz targets.
var (
	ParsePaymentFilter = parsePaymentFilter
)
