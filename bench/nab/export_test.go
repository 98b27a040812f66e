package nab

// DataDir lends the shared data's location to the tests of package nab_test,
// which run the backtest package (itself importing nab) over it.
var DataDir = dataDir
