// The parts of the Nix C API the plugin uses; bindgen reads this file.
#include <nix_api_util.h>
#include <nix_api_expr.h>
#include <nix_api_value.h>
#include <nix_api_external.h>
