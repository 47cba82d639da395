/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * For tests run as root that check what a user without access sees: root
 * opens anything, so the test's process gives up the capabilities that let
 * it (each GstCheck test runs in a process of its own).
 */
#ifndef __TESTS_PRIVILEGES_H__
#define __TESTS_PRIVILEGES_H__

#include <gst/check/gstcheck.h>

#include <errno.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline void
drop_dac_override (void)
{
  struct __user_cap_header_struct head = {
    .version = _LINUX_CAPABILITY_VERSION_3
  };
  struct __user_cap_data_struct data[2];

  fail_unless (syscall (SYS_capget, &head, data) == 0);
  data[0].effective &= ~((1u << CAP_DAC_OVERRIDE) |
      (1u << CAP_DAC_READ_SEARCH) | (1u << CAP_FOWNER));
  fail_unless (syscall (SYS_capset, &head, data) == 0, "capset: %s",
      g_strerror (errno));
}

#endif
