/* version.h: mer's own version. */
#ifndef MER_VERSION_H
#define MER_VERSION_H

#define MER_VERSION "0.1.0"

#endif
