/*
 * protocol.h: what sqcrond and sqcron agree on over the control socket.
 *
 * One JSON object per line (NDJSON), each at most PROTOCOL_MAX_LINE bytes:
 *	request	{"id":ANY,"method":NAME,"params":{...}}
 *	reply	{"id":ANY,"result":...} or
 *		{"id":ANY,"error":{"code":CODE,"message":TEXT}}
 *	stream	{"id":ANY,"event":{...}} lines, then a result
 *
 * Version history:
 *	1	first protocol (sqcron 0.1)
 */
#ifndef SQCRON_PROTOCOL_H
#define SQCRON_PROTOCOL_H

#define PROTOCOL_VERSION	1
#define PROTOCOL_MAX_LINE	(1024 * 1024)

/* Error codes (DESIGN.md section 8). */
#define ERR_INVALID_REQUEST	"invalid_request"
#define ERR_UNKNOWN_METHOD	"unknown_method"
#define ERR_INVALID_ARGUMENT	"invalid_argument"
#define ERR_NOT_FOUND		"not_found"
#define ERR_PERMISSION_DENIED	"permission_denied"
#define ERR_CONFLICT		"conflict"
#define ERR_TOO_LARGE		"too_large"
#define ERR_UNAVAILABLE		"unavailable"
#define ERR_INTERNAL		"internal"

/* Exit codes of the client (DESIGN.md section 11). */
#define EXIT_OK			0
#define EXIT_FAILED		1	/* the operation ran but failed */
#define EXIT_USAGE		2
#define EXIT_UNREACHABLE	3
#define EXIT_NOT_FOUND		4
#define EXIT_DENIED		5

/* Environment variable naming the socket for the client. */
#define SQCRON_SOCKET_ENV	"SQCRON_SOCKET"

#endif
