// Package ports holds the technology-neutral interfaces that domain code
// depends on, the value types that cross them and the errors they return.
//
// Adapters (package adapters/...) implement the outbound ports; the inbound
// side is the transport-neutral Request/Response pair and Handler, served by
// the API Gateway adapter in Lambda and by net/http for the local run.
// Every port has a contract suite in package porttest that each adapter must
// pass.
package ports
