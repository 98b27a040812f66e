package dist

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestPoisson: mean and variance within a few standard errors on both sides
// of the switch between the two methods, and at the extremes.
func TestPoisson(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, lambda := range []float64{0, 0.05, 0.9, 4, 9.99, 29.9, 30, 37.5, 400, 50_000} {
		const n = 20_000
		var sum, sq float64
		for range n {
			k := Poisson(r, lambda)
			if k < 0 || k != math.Floor(k) {
				t.Fatalf("λ=%g: draw %g is not a count", lambda, k)
			}
			sum += k
			sq += k * k
		}
		mean := sum / n
		variance := sq/n - mean*mean
		if se := math.Sqrt(lambda / n); math.Abs(mean-lambda) > 5*se+1e-12 {
			t.Errorf("λ=%g: mean %g, want within 5 standard errors (%g)", lambda, mean, se)
		}
		if lambda > 0 && math.Abs(variance/lambda-1) > 0.08 {
			t.Errorf("λ=%g: variance %g", lambda, variance)
		}
	}
	if got := Poisson(r, math.NaN()); got != 0 {
		t.Errorf("λ=NaN: %g, want 0", got)
	}
}

// TestNegBinomial: mean mu and variance mu + mu²/k, and Poisson at k = 0.
func TestNegBinomial(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tt := range []struct{ mu, k float64 }{{5, 0}, {5, 2}, {40, 10}, {200, 0.5}} {
		const n = 40_000
		var sum, sq float64
		for range n {
			x := NegBinomial(r, tt.mu, tt.k)
			sum += x
			sq += x * x
		}
		mean := sum / n
		want := tt.mu
		if tt.k > 0 {
			want += tt.mu * tt.mu / tt.k
		}
		if v := sq/n - mean*mean; math.Abs(mean/tt.mu-1) > 0.03 || math.Abs(v/want-1) > 0.1 {
			t.Errorf("mu=%g k=%g: mean %g, variance %g, want %g and %g", tt.mu, tt.k, mean, v, tt.mu, want)
		}
	}
}

// TestBinomial: the mean n·p in each of the three regimes.
func TestBinomial(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, tt := range []struct{ n, p float64 }{{20, 0.3}, {1000, 0.01}, {1000, 0.4}} {
		const draws = 20_000
		sum := 0.0
		for range draws {
			x := Binomial(r, tt.n, tt.p)
			if x < 0 || x > tt.n {
				t.Fatalf("n=%g p=%g: %g successes", tt.n, tt.p, x)
			}
			sum += x
		}
		if mean := sum / draws; math.Abs(mean/(tt.n*tt.p)-1) > 0.03 {
			t.Errorf("n=%g p=%g: mean %g, want %g", tt.n, tt.p, mean, tt.n*tt.p)
		}
	}
}
