package pii_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/opaprules/opaprules/internal/pii"
	"github.com/opaprules/opaprules/internal/spool"
)

func ExampleRedactor_Reader() {
	r, err := pii.New(pii.Config{KeepLast: 4})
	if err != nil {
		panic(err)
	}
	in := "2024-05-17 login user=zhang.san@example.com phone=13812345678 card=4111 1111 1111 1111\n"
	io.Copy(os.Stdout, r.Reader(strings.NewReader(in)))
	// Output:
	// 2024-05-17 login user=*****************.com phone=*******5678 card=***************1111
}

func ExampleRedactor_Redact() {
	r, err := pii.New(pii.Config{
		Style:     pii.StyleEntity,
		JSONKeys:  []string{"password"},
		JSONPaths: []string{"$.orders[*].card"},
	})
	if err != nil {
		panic(err)
	}
	in := `{"user": "li.si@example.org", "password": "hunter2", "orders": [{"card": 4111111111111111, "amount": 12.5}]}`
	r.Redact(os.Stdout, strings.NewReader(in), pii.KindJSON)
	fmt.Println()
	// Output:
	// {"user": "[EMAIL]", "password": "[REDACTED]", "orders": [{"card": "[REDACTED]", "amount": 12.5}]}
}

func ExampleRedactor_RedactSpooled() {
	r, _ := pii.New(pii.Config{Style: pii.StyleHash, HashKey: []byte("from-the-secret-store"), Detectors: []string{"email"}})
	kind, ok := pii.KindOf("text/csv", "users.csv")
	if !ok {
		return
	}
	body, err := r.RedactSpooled(context.Background(), strings.NewReader("id,email\n1,a@example.com\n"), kind, spool.Options{Memory: 1 << 20, File: 1 << 30})
	if err != nil {
		panic(err)
	}
	defer body.Close()
	fmt.Println("Content-Length:", body.Size)
	io.Copy(os.Stdout, body)
	// Output:
	// Content-Length: 36
	// id,email
	// 1,[EMAIL:acc78284af25a988]
}
