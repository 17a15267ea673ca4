// The file to give Nix as the plugin: libclan_inventory_loader.so. It links nothing of Nix, so
// opening it cannot go wrong in any Nix, and it loads the real plugin (libclan_inventory.so, in
// the same directory) only into the Nix that plugin was built for.
//
// Why: the real plugin links Nix's libraries. Opened by another minor version of Nix, those
// libraries decide before any code of ours runs: Nix refuses the file (undefined symbols, same
// SONAMEs before 2.32) or the process crashes inside dlopen (a second copy of Nix's libraries,
// whose static initialisers register Nix's store types twice, 2.32 and later). This loader asks
// the running Nix for its version (`std::string nix::nixVersion` of its libnixstore, in the
// process's global scope; libstdc++ lays out a std::string as data pointer, then length) and
// says once why it registers nothing when that is not the version it was built for.
//
// build.rs compiles it with CLAN_NIX_BUILT_AGAINST, the version of nix-expr-c.pc.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#ifndef CLAN_NIX_BUILT_AGAINST
#  error "build.rs defines CLAN_NIX_BUILT_AGAINST"
#endif

static const char plugin_file[] = "libclan_inventory.so";

// The running Nix's version into out; 0 when it cannot be read (not a Nix of the C++ ABI we know).
static int running_version(char * out, size_t size)
{
    const char * sym = dlsym(RTLD_DEFAULT, "_ZN3nix10nixVersionB5cxx11E");
    if (!sym)
        return 0;
    const char * data;
    size_t len;
    memcpy(&data, sym, sizeof data);
    memcpy(&len, sym + sizeof data, sizeof len);
    if (!data || len == 0 || len >= size)
        return 0;
    memcpy(out, data, len);
    out[len] = '\0';
    return 1;
}

static void not_loaded(const char * why)
{
    fprintf(stderr, "warning: clan-inventory plugin not loaded: %s\n", why);
}

void nix_plugin_entry(void)
{
    char running[64];
    char why[512];
    if (!running_version(running, sizeof running)) {
        snprintf(why, sizeof why, "built for Nix %s, loaded into a Nix whose version it cannot read", CLAN_NIX_BUILT_AGAINST);
        not_loaded(why);
        return;
    }
    if (strcmp(running, CLAN_NIX_BUILT_AGAINST) != 0) {
        snprintf(why, sizeof why, "built for Nix %s, loaded into Nix %s", CLAN_NIX_BUILT_AGAINST, running);
        not_loaded(why);
        return;
    }
    Dl_info self;
    if (!dladdr((void *) nix_plugin_entry, &self) || !self.dli_fname) {
        not_loaded("cannot find the directory of libclan_inventory_loader.so");
        return;
    }
    char path[4096];
    const char * slash = strrchr(self.dli_fname, '/');
    int dir = slash ? (int) (slash - self.dli_fname) : 1;
    int n = snprintf(path, sizeof path, "%.*s/%s", dir, slash ? self.dli_fname : ".", plugin_file);
    if (n < 0 || (size_t) n >= sizeof path) {
        not_loaded("the path of libclan_inventory.so is too long");
        return;
    }
    void * plugin = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!plugin) {
        snprintf(why, sizeof why, "%s", dlerror());
        not_loaded(why);
        return;
    }
    void (*entry)(void);
    void * sym = dlsym(plugin, "nix_plugin_entry");
    if (!sym) {
        not_loaded("libclan_inventory.so has no nix_plugin_entry");
        return;
    }
    memcpy(&entry, &sym, sizeof entry);
    entry();
}
