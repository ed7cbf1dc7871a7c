package simulator

import "syscall"

const noCTTY = syscall.O_NOCTTY
