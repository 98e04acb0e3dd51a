// nftables through libnftables, the library the `nft` command is a thin front end to: a script
// (what `nft -f -` reads) runs as one transaction inside the namespace netop enters, with its
// output and its error messages captured into buffers instead of a child's stdout and stderr.
#include "nft.h"

#include <errno.h>
#include <nftables/libnftables.h>

#include <mutex>
#include <string>

#include "errors.h"
#include "netop.h"

namespace keel {
namespace {
// libnftables keeps process-wide state (its one-time initialisation, symbol tables); one script
// at a time keeps it safe. Scripts are a few milliseconds at most.
std::mutex nft_lock;
}  // namespace

Napi::Value nft_run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string ns;
  if (!netns_arg(info, 0, ns)) return throw_type(env, "nftRun: netns must be a path, null or undefined");
  if (!info[1].IsString()) return throw_type(env, "nftRun: script must be a string");
  std::string script = info[1].As<Napi::String>().Utf8Value();
  return queue_net_work(env, ns, [script](NetOut& out, NetError& e) {
    std::lock_guard<std::mutex> hold(nft_lock);
    // created on this thread, so its netlink socket is opened in the namespace the thread is in
    nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!ctx) return e.fail(ENOMEM, "nft_ctx_new", "nftables");
    nft_ctx_buffer_output(ctx);
    nft_ctx_buffer_error(ctx);
    int rc = nft_run_cmd_from_buffer(ctx, script.c_str());
    int err = 0;
    // each get_*_buffer call hands over the buffer and empties it: call each once
    const char* o = nft_ctx_get_output_buffer(ctx);
    const char* er = nft_ctx_get_error_buffer(ctx);
    std::string output = o ? o : "", errors = er ? er : "";
    nft_ctx_free(ctx);
    if (rc != 0) {
      // libnftables leaves no errno worth trusting (its own reads leave EAGAIN behind); it names
      // the kernel's refusal in its message, so the few that callers act on are read from there,
      // and anything else (a script it could not parse, a rule the kernel refused) is EINVAL
      if (errors.find("No such file or directory") != std::string::npos) err = ENOENT;
      else if (errors.find("File exists") != std::string::npos) err = EEXIST;
      else if (errors.find("Operation not permitted") != std::string::npos) err = EPERM;
      else err = EINVAL;
      while (!errors.empty() && errors.back() == '\n') errors.pop_back();
      return e.fail(err, "nft", "nftables script", errors);
    }
    out.kind = NetOut::Text;
    out.text = std::move(output);
    return true;
  });
}

}  // namespace keel
