// noop_milter: the floor of any libmilter plugin, for bench/milter_bench.sh. It negotiates the
// same stages and no-reply flags as notary-milter and receives the same events (envelope,
// every header, the body, end of data), but does nothing with them and accepts every
// message. What Postfix loses with it attached is what the milter protocol itself costs on
// this machine, before any spool or notary work.
//
//   noop_milter inet:PORT@127.0.0.1
#include <libmilter/mfapi.h>

#include <cstdio>

namespace {

constexpr unsigned long kNoReply = SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT |
                                   SMFIP_NR_HDR | SMFIP_NR_BODY | SMFIP_NR_EOH | SMFIP_NR_DATA |
                                   SMFIP_NR_UNKN;
constexpr unsigned long kSkipped = SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NOEOH;

sfsistat Negotiate(SMFICTX*, unsigned long f0, unsigned long f1, unsigned long, unsigned long,
                   unsigned long* pf0, unsigned long* pf1, unsigned long* pf2, unsigned long* pf3) {
  *pf0 = f0 & SMFIF_NONE;
  *pf1 = f1 & (SMFIP_HDR_LEADSPC | kNoReply | kSkipped);
  *pf2 = 0;
  *pf3 = 0;
  return SMFIS_CONTINUE;
}

// Every stage before end of data is sent without waiting for a reply when negotiated.
sfsistat Connect(SMFICTX*, char*, _SOCK_ADDR*) { return SMFIS_NOREPLY; }
sfsistat Helo(SMFICTX*, char*) { return SMFIS_NOREPLY; }
sfsistat EnvFrom(SMFICTX*, char**) { return SMFIS_NOREPLY; }
sfsistat EnvRcpt(SMFICTX*, char**) { return SMFIS_NOREPLY; }
sfsistat Header(SMFICTX*, char*, char*) { return SMFIS_NOREPLY; }
sfsistat Body(SMFICTX*, unsigned char*, size_t) { return SMFIS_NOREPLY; }
sfsistat Eom(SMFICTX*) { return SMFIS_CONTINUE; }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: noop_milter inet:PORT@HOST | unix:PATH\n");
    return 2;
  }
  smfiDesc d{};
  d.xxfi_name = const_cast<char*>("noop-milter");
  d.xxfi_version = SMFI_VERSION;
  d.xxfi_connect = Connect;
  d.xxfi_helo = Helo;
  d.xxfi_envfrom = EnvFrom;
  d.xxfi_envrcpt = EnvRcpt;
  d.xxfi_header = Header;
  d.xxfi_body = Body;
  d.xxfi_eom = Eom;
  d.xxfi_negotiate = Negotiate;
  if (smfi_register(d) != MI_SUCCESS || smfi_setconn(argv[1]) != MI_SUCCESS ||
      smfi_opensocket(1) != MI_SUCCESS) {
    std::fprintf(stderr, "noop_milter: cannot listen on %s\n", argv[1]);
    return 1;
  }
  return smfi_main() == MI_SUCCESS ? 0 : 1;
}
