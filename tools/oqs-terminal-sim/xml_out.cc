#include "xml_out.h"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <vector>

#include "sim_util.h"

namespace oqs_sim {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// The encoding named in the XML declaration, lower-cased; "" when there is none.
std::string DeclaredEncoding(std::string_view bytes) {
  if (bytes.substr(0, 5) != "<?xml") return "";
  const size_t end = bytes.find("?>");
  if (end == std::string_view::npos) return "";
  const std::string decl = Lower(bytes.substr(0, end));
  const size_t pos = decl.find("encoding");
  if (pos == std::string::npos) return "";
  size_t q = decl.find_first_of("\"'", pos);
  if (q == std::string::npos) return "";
  const size_t close = decl.find(decl[q], q + 1);
  if (close == std::string::npos) return "";
  return decl.substr(q + 1, close - q - 1);
}

void ShuffleChildren(pugi::xml_node node, std::mt19937* rng) {
  std::vector<pugi::xml_node> children;
  for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element) children.push_back(c);
  }
  std::shuffle(children.begin(), children.end(), *rng);
  for (pugi::xml_node c : children) node.append_move(c);
}

}  // namespace

bool ParseRequest(std::string_view bytes, pugi::xml_document* doc, std::string* error) {
  std::string utf8;
  if (bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);
  const std::string encoding = DeclaredEncoding(bytes);
  if (encoding.empty() || encoding == "utf-8" || encoding == "utf8") {
    utf8 = std::string(bytes);
  } else if (encoding == "shift_jis" || encoding == "shift-jis" || encoding == "sjis" || encoding == "cp932" ||
             encoding == "windows-31j" || encoding == "ms932") {
    auto converted = Cp932ToUtf8(bytes);
    if (!converted) {
      *error = "bytes are not valid Shift_JIS (CP932)";
      return false;
    }
    utf8 = std::move(*converted);
  } else {
    *error = "unsupported encoding '" + encoding + "' in the XML declaration";
    return false;
  }
  const pugi::xml_parse_result result =
      doc->load_buffer(utf8.data(), utf8.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!result) {
    *error = std::string("XML parse error at offset ") + std::to_string(result.offset) + ": " +
             result.description();
    return false;
  }
  if (!doc->child("XmlMsg")) {
    *error = "root element is not XmlMsg";
    return false;
  }
  return true;
}

std::string ChildText(pugi::xml_node node, const char* path) {
  pugi::xml_node n = node.first_element_by_path(path, '/');
  return n ? n.text().get() : "";
}

void AppendText(pugi::xml_node parent, const char* name, const std::string& text) {
  parent.append_child(name).text().set(text.c_str());
}

void AppendJsonFields(pugi::xml_node parent, const nlohmann::ordered_json& fields,
                      const std::set<std::string>& skip) {
  for (const auto& [key, value] : fields.items()) {
    if (key.empty() || key[0] == '_' || skip.count(key)) continue;
    if (value.is_string()) {
      AppendText(parent, key.c_str(), value.get<std::string>());
    } else if (value.is_object()) {
      AppendJsonFields(parent.append_child(key.c_str()), value);
    } else if (value.is_array()) {
      for (const auto& item : value) {
        if (item.is_object()) {
          AppendJsonFields(parent.append_child(key.c_str()), item);
        } else if (item.is_string()) {
          AppendText(parent, key.c_str(), item.get<std::string>());
        }
      }
    } else if (value.is_number()) {
      AppendText(parent, key.c_str(), value.dump());
    }
  }
}

void ShuffleElements(pugi::xml_document* doc, std::mt19937* rng) {
  pugi::xml_node msg = doc->child("XmlMsg");
  ShuffleChildren(msg.child("MessageHeader"), rng);
  pugi::xml_node body = msg.child("MessageBody");
  ShuffleChildren(body, rng);
  for (pugi::xml_node r : body.child("ResultList").children("ResultOfQualificationConfirmation")) {
    ShuffleChildren(r, rng);
  }
}

std::string Serialize(const pugi::xml_document& doc, bool shift_jis) {
  std::ostringstream out;
  out << "<?xml version=\"1.0\" encoding=\"" << (shift_jis ? "Shift_JIS" : "UTF-8") << "\" standalone=\"no\"?>\n";
  doc.save(out, "  ", pugi::format_indent | pugi::format_no_declaration, pugi::encoding_utf8);
  return shift_jis ? Utf8ToCp932(out.str()) : out.str();
}

}  // namespace oqs_sim
