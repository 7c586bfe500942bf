// Command labtool does the few lab chores cfssl's CLI cannot: it prints a
// certificate's serial in the decimal form cfssl's certdb keys on.
package main

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	if len(args) != 2 || args[0] != "serial" {
		fmt.Fprintln(os.Stderr, "usage: labtool serial CERT.pem")
		return 2
	}
	cert, err := readCert(args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "labtool:", err)
		return 1
	}
	fmt.Println(cert.SerialNumber.String())
	return 0
}

func readCert(path string) (*x509.Certificate, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if block, _ := pem.Decode(raw); block != nil {
		raw = block.Bytes
	}
	return x509.ParseCertificate(raw)
}
