// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The volume key of a dm-crypt holder whose table names its key in the
 * kernel keyring (":64:logon:cryptsetup:<uuid>-d0", how cryptsetup opens
 * LUKS2). dm-crypt looks the key up whenever such a table is loaded, in
 * the keyrings of the process loading it, and cryptsetup dropped it from
 * its own once the device was open: a reload of the holder needs the key
 * put back under the same description. libcryptsetup does that from the
 * LUKS passphrase, as for its own resize, into this thread's keyring; the
 * table is loaded by reference and the key unlinked. The key itself never
 * leaves the kernel and is never printed or written.
 */
#include <errno.h>
#include <fcntl.h>
#include <libcryptsetup.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#define KEY_FILE_MAX	(8U << 20)	/* cryptsetup's own limit */

/*
 * The keyring description in crypt params "<cipher> :<size>:logon:<desc>
 * <iv_offset> <dev> ...", or false for a key given in the table itself.
 */
bool dmm__crypt_key_desc(const char *params, char *desc, size_t len)
{
	const char *key = strchr(params, ' ');
	unsigned int size;
	int n = 0;

	if (!key || sscanf(key + 1, ":%u:logon:%n", &size, &n) != 1 || !n)
		return false;
	key += 1 + n;
	snprintf(desc, len, "%.*s", (int)strcspn(key, " "), key);
	return true;
}

/* Can a table load by this thread find the key @desc (-ENOKEY if not)? */
static long key_reachable(const char *desc)
{
	return syscall(SYS_request_key, "logon", desc, NULL, 0);
}

static long key_in_thread_keyring(const char *desc)
{
	return syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_THREAD_KEYRING,
		       "logon", desc, 0);
}

static void log_libcryptsetup(int level, const char *msg, void *data)
{
	struct dmm_ctx *ctx = data;
	size_t n = strcspn(msg, "\n");

	dmm__log(ctx, level == CRYPT_LOG_ERROR ? DMM_LOG_ERROR :
		 DMM_LOG_DEBUG, "libcryptsetup: %.*s", (int)n, msg);
}

/* The whole key file (- for standard input), as cryptsetup reads one. */
static int read_key_file(struct dmm_ctx *ctx, const char *path, char **buf,
			 size_t *len)
{
	bool from_stdin = !strcmp(path, "-");
	int fd = from_stdin ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	size_t size = 0, cap = 4096;
	char *b = malloc(cap), *grown;
	ssize_t n;
	int err;

	if (fd < 0 || !b) {
		free(b);
		if (fd >= 0 && !from_stdin)
			close(fd);
		return fd < 0 ? dmm__err(ctx, dmm__errno_code(errno),
					 "cannot read the key file %s: %s; give a readable file",
					 path, strerror(errno)) :
				dmm__enomem(ctx);
	}
	while ((n = read(fd, b + size, cap - size)) > 0) {
		size += n;
		if (size < cap)
			continue;
		if (cap >= KEY_FILE_MAX)
			break;
		grown = malloc(cap * 2);
		if (!grown)
			break;
		memcpy(grown, b, size);
		explicit_bzero(b, size);
		free(b);
		b = grown;
		cap *= 2;
	}
	err = n < 0 ? errno : 0;
	if (!from_stdin)
		close(fd);
	if (n < 0 || size == cap) {
		explicit_bzero(b, size);
		free(b);
		return dmm__err(ctx, DMM_EUSAGE,
				"cannot read the key file %s: %s; give a file of at most 8 MiB",
				path, n < 0 ? strerror(err) : "too large");
	}
	*buf = b;
	*len = size;
	return DMM_OK;
}

/*
 * Make the key @desc of the crypt device @holder reachable for this
 * thread's next table load: *loaded tells whether it was put in the
 * thread keyring (then dmm__crypt_key_drop() must follow) or was already
 * in reach (a key the user linked into a keyring of theirs).
 */
int dmm__crypt_key_load(struct dmm_ctx *ctx, const char *holder,
			const char *desc, struct dmm__passphrase *pass,
			bool *loaded)
{
	struct crypt_device *cd = NULL;
	int r;

	*loaded = false;
	if (key_reachable(desc) >= 0)
		return DMM_OK;
	if (!pass->key_file)
		return dmm__err(ctx, DMM_EUSAGE,
				"the crypt device %s keeps its key in the kernel keyring (%s), out of reach of a table reload; give its passphrase with --key-file FILE (- for standard input)",
				holder, desc);
	/* Read once: standard input gives it only once, to every holder. */
	if (!pass->buf) {
		r = read_key_file(ctx, pass->key_file, &pass->buf, &pass->len);
		if (r)
			return r;
	}
	r = crypt_init_by_name(&cd, holder);
	if (!r) {
		crypt_set_log_callback(cd, log_libcryptsetup, ctx);
		r = crypt_activate_by_passphrase(cd, NULL, CRYPT_ANY_SLOT,
						 pass->buf, pass->len,
						 CRYPT_ACTIVATE_KEYRING_KEY);
	}
	crypt_free(cd);
	if (r < 0)
		return dmm__err(ctx, r == -EPERM ? DMM_EPERM : DMM_EUSAGE,
				"the key file %s does not open the crypt device %s (%s); give its LUKS passphrase",
				pass->key_file, holder, strerror(-r));
	*loaded = true;
	if (key_reachable(desc) < 0) {
		dmm__crypt_key_drop(desc);
		*loaded = false;
		return dmm__err(ctx, DMM_EUSAGE,
				"the key of the crypt device %s did not come back as %s; reopen it with cryptsetup",
				holder, desc);
	}
	return DMM_OK;
}

/* Unlink the key dmm__crypt_key_load() put in this thread's keyring. */
void dmm__crypt_key_drop(const char *desc)
{
	long id = key_in_thread_keyring(desc);

	if (id >= 0)
		syscall(SYS_keyctl, KEYCTL_UNLINK, id,
			KEY_SPEC_THREAD_KEYRING);
}

void dmm__passphrase_wipe(struct dmm__passphrase *pass)
{
	if (!pass->buf)
		return;
	explicit_bzero(pass->buf, pass->len);
	free(pass->buf);
	pass->buf = NULL;
	pass->len = 0;
}
