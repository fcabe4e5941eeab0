// Command child passes each of two crash points three times, printing a
// line after every pass of "point"; crashpoint's tests build it with and
// without -tags crashpoints and arm it through the environment.
package main

import (
	"fmt"

	"github.com/credmesh/credmesh/internal/crashpoint"
)

func main() {
	for i := 1; i <= 3; i++ {
		crashpoint.Here("other")
		crashpoint.Here("point")
		fmt.Println("passed", i)
	}
}
