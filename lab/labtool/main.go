// Command labtool does the few lab chores cfssl's CLI cannot:
//
//	labtool serial CERT.pem                      the serial in decimal (cfssl's certdb key)
//	labtool precert CA.pem CA-KEY.pem OUT.pem    a precertificate (CT poison) from the lab CA
//	labtool bulk N DSN CA.pem CA-KEY.pem RESP.pem RESP-KEY.pem
//	                                             N certificates with signed OCSP rows, straight into certdb
//	labtool crl [serve] ...                      render a node's CRL shards / serve them (see crl.go)
//	labtool serve ADDR DIR                       serve DIR over HTTP (the lab CT log's read path)
//	labtool ct-submit LOG-URL LOG-PUB.pem CERT.pem ISSUER.pem
//	                                             add-chain / add-pre-chain; prints the verified SCT
//	labtool ct-issue -n N [flags]                precert -> CT -> final cert -> CT, DB row, OCSP row (see -h)
//	labtool ossl-index DSN OUT                   an openssl index.txt of every certificate in certdb
//	labtool bridge tcp:127.0.0.1:P unix:SOCK     forward connections (both ways round)
package main

import (
	"fmt"
	"os"
	"strconv"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	var err error
	switch {
	case len(args) == 2 && args[0] == "serial":
		err = printSerial(args[1])
	case len(args) == 4 && args[0] == "precert":
		err = writePrecert(args[1], args[2], args[3])
	case len(args) == 7 && args[0] == "bulk":
		var n int
		if n, err = strconv.Atoi(args[1]); err == nil {
			err = bulk(n, args[2], args[3], args[4], args[5], args[6])
		}
	case len(args) > 0 && args[0] == "crl":
		err = crlCommand(args[1:])
	case len(args) == 3 && args[0] == "serve":
		err = serve(args[1], args[2])
	case len(args) == 5 && args[0] == "ct-submit":
		err = ctSubmit(args[1], args[2], args[3], args[4])
	case len(args) >= 1 && args[0] == "ct-issue":
		err = ctIssue(args[1:])
	case len(args) == 3 && args[0] == "ossl-index":
		err = osslIndex(args[1], args[2])
	case len(args) == 3 && args[0] == "bridge":
		err = bridge(args[1], args[2])
	default:
		fmt.Fprintln(os.Stderr, "usage: labtool serial CERT | precert CA KEY OUT | bulk N DSN CA KEY RESP RESPKEY |"+
			" crl ... | serve ADDR DIR | ct-submit URL PUB CERT ISSUER | ct-issue -n N ... | ossl-index DSN OUT | bridge FROM TO")
		return 2
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "labtool:", err)
		return 1
	}
	return 0
}

func printSerial(path string) error {
	cert, err := readCert(path)
	if err != nil {
		return err
	}
	fmt.Println(cert.SerialNumber.String())
	return nil
}
