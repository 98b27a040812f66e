// Package bench holds trendwatch's end-to-end benchmarks; the NAB evaluation
// harness lives in bench/nab. The numbers in the README's benchmark table come
// from `make bench`.
package bench
