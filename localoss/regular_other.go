//go:build !unix

package localoss

const openNonBlock = 0
