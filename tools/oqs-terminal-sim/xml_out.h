// XML in and out for oqs-terminal-sim: decoding requests, building and encoding results.
#ifndef ONSHID_TOOLS_OQS_TERMINAL_SIM_XML_OUT_H_
#define ONSHID_TOOLS_OQS_TERMINAL_SIM_XML_OUT_H_

#include <random>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <pugixml.hpp>

namespace oqs_sim {

// Parses a request file's bytes. The XML declaration decides the encoding (UTF-8, or Shift_JIS which
// is read as CP932). Returns false with `error` set when the bytes are not a well-formed XmlMsg.
bool ParseRequest(std::string_view bytes, pugi::xml_document* doc, std::string* error);

// Text of the first element at a slash-separated path below `node` ("" when absent).
std::string ChildText(pugi::xml_node node, const char* path);

// Appends `fields` (see Qualification::fields) below `parent`, skipping "_" keys and `skip` keys.
void AppendJsonFields(pugi::xml_node parent, const nlohmann::ordered_json& fields,
                      const std::set<std::string>& skip = {});
void AppendText(pugi::xml_node parent, const char* name, const std::string& text);

// Shuffles the children of MessageHeader, MessageBody and every ResultOfQualificationConfirmation.
void ShuffleElements(pugi::xml_document* doc, std::mt19937* rng);

// Serialises with an XML declaration naming the encoding actually used (UTF-8 or Shift_JIS/CP932).
std::string Serialize(const pugi::xml_document& doc, bool shift_jis);

}  // namespace oqs_sim

#endif  // ONSHID_TOOLS_OQS_TERMINAL_SIM_XML_OUT_H_
