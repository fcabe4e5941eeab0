// Package node is the composition root of one credmesh node: it loads the
// identity, opens the store, builds every actor, wires them together
// through the interfaces the lower layers declare, and runs them under one
// fail-fast supervisor. It is the only package that sees every other one;
// cli (and tests) import it.
package node
