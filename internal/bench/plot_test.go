package bench

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestChartSVG(t *testing.T) {
	c := Chart{Title: "p99 <ms> & N", XLabel: "N", YLabel: "ms", Markers: true, Series: []Series{
		{Name: "p50", X: []float64{3, 10, 30}, Y: []float64{30, 37, 45}},
		{Name: "p99", X: []float64{3, 10, 30}, Y: []float64{40, 52, 90}},
	}}
	out := c.SVG()
	var doc struct {
		Polylines []struct {
			Points string `xml:"points,attr"`
		} `xml:"polyline"`
		Circles []struct{} `xml:"circle"`
		Texts   []string   `xml:"text"`
	}
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("not well-formed SVG: %v\n%s", err, out)
	}
	if len(doc.Polylines) != 2 || len(doc.Circles) != 6 {
		t.Fatalf("%d lines and %d markers, want 2 and 6", len(doc.Polylines), len(doc.Circles))
	}
	// y = 90 is the top of the p99 line; the axis ends at 100, so it sits
	// a tenth of the plot height below the top edge.
	last := strings.Fields(doc.Polylines[1].Points)[2]
	if want := "560.0,73.0"; last != want { // x: 70+30/30*490; y: 40+(1-0.9)*330
		t.Fatalf("last p99 point at %s, want %s", last, want)
	}
	if !strings.Contains(string(out), "p99 &lt;ms&gt; &amp; N") {
		t.Fatal("title not escaped")
	}
}

func TestNiceTicks(t *testing.T) {
	for _, c := range []struct {
		hi, end float64
		n       int
	}{{90, 100, 6}, {0.93, 1, 6}, {3021, 4000, 5}, {7, 8, 5}} {
		ticks, end := niceTicks(c.hi)
		if end != c.end || len(ticks) != c.n || ticks[0] != 0 {
			t.Errorf("niceTicks(%v) = %v, %v; want %d ticks ending at %v", c.hi, ticks, end, c.n, c.end)
		}
	}
}

func TestCDF(t *testing.T) {
	s := CDF("x", []float64{3, 1, 2, 4})
	if s.X[0] != 1 || s.X[3] != 4 || s.Y[0] != 0.25 || s.Y[3] != 1 {
		t.Fatalf("CDF = %v %v", s.X, s.Y)
	}
}
