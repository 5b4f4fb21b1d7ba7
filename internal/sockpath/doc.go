// Package sockpath is where a mothreads daemon's Unix socket lives and what
// makes that place trustworthy: the default path (Default), the rule that
// the directories leading to it must satisfy (CheckDir, PrepareDir) and the
// rule for the socket file itself (CheckSocket). The daemon, the client
// library and the CLI all use it, so that they agree on the path and on the
// rule.
//
// The rule, for an expected owner uid (the daemon's user):
//
//   - Every directory from / down to the socket's directory is owned by uid
//     or by root, and is not writable by its group or by others unless it
//     has the sticky bit (as /tmp has), so that nobody else can rename or
//     replace an entry on the way.
//   - The socket's own directory is owned by uid or root, is a real
//     directory (not a symbolic link), and is writable by nobody but its
//     owner: no group or other write bit, sticky or not.
//   - Symbolic links among the ancestors are followed, and the directories
//     they lead to are held to the same rule; a link can only be changed
//     by whoever may write the directory that holds it, which the walk
//     checks first.
//   - The socket file is a socket (not a symbolic link) owned by uid.
//
// Trap: the check looks at the file system as it is when it runs. It is
// meant to be repeated right before each connect (the client does), and it
// cannot help against uid itself or root, who may do anything.
package sockpath
