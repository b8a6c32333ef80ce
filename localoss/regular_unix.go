//go:build unix

package localoss

import "syscall"

const openNonBlock = syscall.O_NONBLOCK
