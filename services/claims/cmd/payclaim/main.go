// Command payclaim is the payClaim Lambda function of the claims service.
package main

import "github.com/hexlambda/hexlambda/services/claims/providers"

func main() { providers.Start(initialize) }
