// Commits `count` finished files that all want the same name into one folder through
// CommitPartialFile and prints each final name, one per line (or "error <errno>" and stops).
// argv: <folder> <count>. Driven by test/native/naming.test.ts.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/file_ops.h"

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  std::string dir = argv[1];
  long count = std::strtol(argv[2], nullptr, 10);
  for (long i = 0; i < count; ++i) {
    std::string partial;
    urlsession::FileIdentity identity;
    int fd = urlsession::CreatePartialFile(dir, "report.pdf", &partial, &identity);
    if (fd < 0) {
      std::printf("error %d\n", -fd);
      return 1;
    }
    close(fd);
    std::string final;
    int err = urlsession::CommitPartialFile(partial, identity, dir, "report.pdf", &final);
    if (err != 0) {
      std::printf("error %d\n", err);
      return 1;
    }
    std::printf("%s\n", final.c_str() + dir.size() + 1);
  }
  return 0;
}
