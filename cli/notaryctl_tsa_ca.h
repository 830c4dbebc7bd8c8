// notaryctl tsa-ca: the root certificate of the notary's built-in time-stamp authority, to pin
// in verifiers (`notary-verify --tsa-ca`), printed from the data directory so that a set-up
// script or the README's second terminal needs no path the reader must find.
#pragma once

#include <string>

namespace cli {

// Writes the root as PEM to stdout and its subject and SHA-256 fingerprint to stderr (to
// compare with what the operator publishes). The root is <data-dir>/tsa/ca.pem while notaryd
// holds the TSA key, else the last certificate of <data-dir>/tsa/signer-chain.pem, the chain
// notaryd keeps of notary-signer's authority. It must be one self-signed CA certificate.
// Exit status: 0 printed, 1 no root there or not a self-signed CA.
int RunTsaCa(const std::string& data_dir);

}  // namespace cli
