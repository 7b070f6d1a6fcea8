#include "api/rest_routes.h"

#include "api/enum_mapping.h"

#include <google/api/annotations.pb.h>
#include <google/api/http.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <set>

namespace onshid::api {
namespace {

namespace pb = google::protobuf;

constexpr char kUnservable[] = "UNSERVABLE_HTTP_ANNOTATION";
constexpr char kInvalidJson[] = "INVALID_JSON";
constexpr char kInvalidParameter[] = "INVALID_PARAMETER";
constexpr char kUnservableJa[] =
    "APIの定義に誤りがあるため起動できません。システム管理者に連絡してください。";
constexpr char kInvalidJsonJa[] =
    "リクエストの形式が正しくありません。連携システムの担当者に連絡してください。";
constexpr char kInvalidParameterJa[] =
    "リクエストの項目に誤りがあります。連携システムの担当者に連絡してください。";

core::DomainError Unservable(const pb::MethodDescriptor* method, const std::string& what) {
  core::DomainError e;
  e.kind = core::ErrorKind::kFailedPrecondition;
  e.reason = kUnservable;
  e.message = "method " + method->full_name() + ": " + what;
  e.message_ja = kUnservableJa;
  e.metadata.emplace_back("method", method->full_name());
  return e;
}

core::DomainError InvalidParameter(std::string message, std::string field) {
  std::vector<core::FieldViolation> violations;
  if (!field.empty()) violations.push_back({std::move(field), message});
  return core::InvalidArgument(kInvalidParameter, std::move(message), kInvalidParameterJa,
                               std::move(violations));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes `in`; '+' becomes a space when `plus_as_space` (query strings only).
std::optional<std::string> PercentDecode(std::string_view in, bool plus_as_space) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool IsValidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    int extra = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + static_cast<std::size_t>(extra) >= s.size()) return false;
    for (int k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return false;
    }
    i += static_cast<std::size_t>(extra) + 1;
  }
  return true;
}

std::string JsonQuote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c < 0x20) {
      out += "\\u00";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    } else {
      out.push_back(ch);
    }
  }
  out.push_back('"');
  return out;
}

bool IsBlank(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

bool IsIdentifier(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Well-known message types that have a JSON string form and may stand in for a scalar in a query.
bool IsStringLikeWellKnown(const pb::Descriptor* d) {
  return d->full_name() == "google.protobuf.Timestamp" ||
         d->full_name() == "google.protobuf.Duration";
}

// ---------------------------------------------------------------------------------------------
// Building the table.

struct RuleContext {
  const pb::MethodDescriptor* method;
  std::vector<RestRoute>* routes;
  std::set<std::string>* shapes;  // "GET /v1/things/*:verb" of every route so far
};

// Parses `path` into segments and verb, resolving variables against `input`. Returns "" or what is
// wrong.
std::string ParseTemplate(const std::string& path, const pb::Descriptor* input, RestRoute* route) {
  if (path.empty() || path[0] != '/') return "path \"" + path + "\" does not start with '/'";
  // Split on '/' outside braces, so "{a=b/*}" is reported as a sub-pattern, not as garbage.
  std::vector<std::string> raw;
  std::string current;
  int depth = 0;
  for (std::size_t i = 1; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '{') ++depth;
    if (c == '}') --depth;
    if (depth < 0 || depth > 1) return "path \"" + path + "\" has unbalanced braces";
    if (c == '/' && depth == 0) {
      raw.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (depth != 0) return "path \"" + path + "\" has unbalanced braces";
  if (path.size() > 1) raw.push_back(std::move(current));

  // The verb is what follows the last ':' outside braces in the last segment.
  if (!raw.empty()) {
    std::string& last = raw.back();
    const std::size_t close = last.rfind('}');
    const std::size_t colon = last.find(':', close == std::string::npos ? 0 : close);
    if (colon != std::string::npos) {
      route->verb = last.substr(colon + 1);
      last.resize(colon);
      if (route->verb.empty() || route->verb.find_first_of("{}*=:/") != std::string::npos) {
        return "path \"" + path + "\" has an invalid custom verb";
      }
    }
  }

  std::set<std::string> bound;
  for (const std::string& seg : raw) {
    if (seg.empty()) return "path \"" + path + "\" has an empty segment";
    RestPathSegment parsed;
    if (seg.front() == '{') {
      if (seg.back() != '}') return "path \"" + path + "\": a variable must be a whole segment";
      const std::string inner = seg.substr(1, seg.size() - 2);
      if (inner.find('=') != std::string::npos) {
        return "path \"" + path + "\": variable {" + inner +
               "} has a sub-pattern; only {field} and {a.b} (one segment) are served";
      }
      parsed.is_variable = true;
      parsed.text = inner;
      const pb::Descriptor* d = input;
      const std::vector<std::string_view> names = Split(inner, '.');
      for (std::size_t i = 0; i < names.size(); ++i) {
        if (!IsIdentifier(names[i])) {
          return "path \"" + path + "\": variable {" + inner + "} is not a field path";
        }
        const pb::FieldDescriptor* f = d->FindFieldByName(std::string(names[i]));
        if (f == nullptr) {
          return "path \"" + path + "\": variable {" + inner + "} names no field \"" +
                 std::string(names[i]) + "\" of " + d->full_name();
        }
        const bool last = i + 1 == names.size();
        if (!last && (f->is_repeated() || f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE)) {
          return "path \"" + path + "\": variable {" + inner + "}: \"" + f->name() +
                 "\" is not a singular message field";
        }
        if (last && (f->is_repeated() || f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE)) {
          return "path \"" + path + "\": variable {" + inner +
                 "} must bind a singular scalar field, but \"" + f->name() + "\" is " +
                 (f->is_repeated() ? "repeated" : "a message");
        }
        parsed.field_path.push_back(f);
        if (!last) d = f->message_type();
      }
      if (!bound.insert(inner).second) {
        return "path \"" + path + "\" binds {" + inner + "} twice";
      }
    } else {
      if (seg.find_first_of("{}*=") != std::string::npos) {
        return "path \"" + path + "\": segment \"" + seg +
               "\" is a wildcard or malformed; only literals and {field} variables are served";
      }
      parsed.text = seg;
    }
    route->segments.push_back(std::move(parsed));
  }
  return "";
}

std::optional<core::DomainError> AddRule(const RuleContext& ctx, const google::api::HttpRule& rule,
                                         bool additional) {
  const pb::MethodDescriptor* method = ctx.method;
  if (additional && rule.additional_bindings_size() > 0) {
    return Unservable(method, "additional_bindings may not be nested");
  }
  if (!rule.response_body().empty()) {
    return Unservable(method, "response_body \"" + rule.response_body() + "\" is not supported");
  }
  RestRoute route;
  using Rule = google::api::HttpRule;
  switch (rule.pattern_case()) {
    case Rule::kGet:
      route.http_method = "GET";
      route.path_template = rule.get();
      break;
    case Rule::kPut:
      route.http_method = "PUT";
      route.path_template = rule.put();
      break;
    case Rule::kPost:
      route.http_method = "POST";
      route.path_template = rule.post();
      break;
    case Rule::kDelete:
      route.http_method = "DELETE";
      route.path_template = rule.delete_();
      break;
    case Rule::kPatch:
      route.http_method = "PATCH";
      route.path_template = rule.patch();
      break;
    case Rule::kCustom:
      return Unservable(method,
                        "custom HTTP pattern \"" + rule.custom().kind() + "\" is not supported");
    case Rule::PATTERN_NOT_SET:
      return Unservable(method, "http rule has no HTTP method and path");
  }
  route.body = rule.body();
  route.method = method;
  route.server_streaming = method->server_streaming();
  route.grpc_path = "/" + method->service()->full_name() + "/" + method->name();

  const pb::Descriptor* input = method->input_type();
  if (std::string problem = ParseTemplate(route.path_template, input, &route); !problem.empty()) {
    return Unservable(method, problem);
  }
  if (!route.body.empty()) {
    if (route.http_method == "GET" || route.http_method == "DELETE") {
      return Unservable(method,
                        route.http_method + " may not have a body (body \"" + route.body + "\")");
    }
    if (route.body != "*" && input->FindFieldByName(route.body) == nullptr) {
      return Unservable(
          method, "body \"" + route.body + "\" names no top-level field of " + input->full_name());
    }
  }

  std::string shape = route.http_method + " ";
  for (const RestPathSegment& seg : route.segments)
    shape += "/" + (seg.is_variable ? "*" : seg.text);
  if (!route.verb.empty()) shape += ":" + route.verb;
  if (!ctx.shapes->insert(shape).second) {
    return Unservable(method, route.http_method + " " + route.path_template +
                                  " duplicates the method and path of another route");
  }
  ctx.routes->push_back(std::move(route));
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Filling the request message.

// Describes the JSON literal expected for a field in an error message.
std::string ExpectedValue(const pb::FieldDescriptor* f) {
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      return "true or false";
    case pb::FieldDescriptor::CPPTYPE_ENUM:
      return "a value of enum " + f->enum_type()->full_name();
    case pb::FieldDescriptor::CPPTYPE_STRING:
      return f->type() == pb::FieldDescriptor::TYPE_BYTES ? "base64 data" : "UTF-8 text";
    case pb::FieldDescriptor::CPPTYPE_MESSAGE:
      return "a " + f->message_type()->full_name() + " in its JSON string form";
    default:
      return "a number of type " + std::string(f->type_name());
  }
}

// The JSON literal for `value` as the value of scalar (or string-like well-known) field `f`, or
// nullopt when it cannot be one. Numbers are quoted, which protobuf's JSON parser accepts and
// validates.
std::optional<std::string> JsonLiteral(const pb::FieldDescriptor* f, const std::string& value) {
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      if (value == "true" || value == "false") return value;
      return std::nullopt;
    case pb::FieldDescriptor::CPPTYPE_ENUM: {
      const bool numeric =
          !value.empty() && std::all_of(value.begin() + (value[0] == '-' ? 1 : 0), value.end(),
                                        [](char c) { return c >= '0' && c <= '9'; });
      if (numeric && value != "-") return value;
      // A query may leave out the enum's prefix (state=VERIFIED for CHECK_IN_STATE_VERIFIED).
      const pb::EnumDescriptor* e = f->enum_type();
      if (e->FindValueByName(value) == nullptr) {
        const std::string prefixed = EnumValuePrefix(e) + value;
        if (e->FindValueByName(prefixed) != nullptr) return JsonQuote(prefixed);
      }
      return JsonQuote(value);
    }
    case pb::FieldDescriptor::CPPTYPE_STRING:
      if (!IsValidUtf8(value)) return std::nullopt;
      return JsonQuote(value);
    default:
      if (value.empty() || !IsValidUtf8(value)) return std::nullopt;
      return JsonQuote(value);
  }
}

// Copies the leaf field at the end of `path` from `src` to `dst` (appending for repeated fields,
// replacing otherwise), creating intermediate messages in `dst`.
void CopyLeaf(const pb::Message& src, pb::Message* dst,
              const std::vector<const pb::FieldDescriptor*>& path) {
  const pb::Message* s = &src;
  pb::Message* d = dst;
  for (std::size_t i = 0; i + 1 < path.size(); ++i) {
    s = &s->GetReflection()->GetMessage(*s, path[i]);
    d = d->GetReflection()->MutableMessage(d, path[i]);
  }
  const pb::FieldDescriptor* f = path.back();
  const pb::Reflection* sr = s->GetReflection();
  const pb::Reflection* dr = d->GetReflection();
  using FD = pb::FieldDescriptor;
  if (f->is_repeated()) {
    const int n = sr->FieldSize(*s, f);
    for (int i = 0; i < n; ++i) {
      switch (f->cpp_type()) {
        case FD::CPPTYPE_INT32:
          dr->AddInt32(d, f, sr->GetRepeatedInt32(*s, f, i));
          break;
        case FD::CPPTYPE_INT64:
          dr->AddInt64(d, f, sr->GetRepeatedInt64(*s, f, i));
          break;
        case FD::CPPTYPE_UINT32:
          dr->AddUInt32(d, f, sr->GetRepeatedUInt32(*s, f, i));
          break;
        case FD::CPPTYPE_UINT64:
          dr->AddUInt64(d, f, sr->GetRepeatedUInt64(*s, f, i));
          break;
        case FD::CPPTYPE_DOUBLE:
          dr->AddDouble(d, f, sr->GetRepeatedDouble(*s, f, i));
          break;
        case FD::CPPTYPE_FLOAT:
          dr->AddFloat(d, f, sr->GetRepeatedFloat(*s, f, i));
          break;
        case FD::CPPTYPE_BOOL:
          dr->AddBool(d, f, sr->GetRepeatedBool(*s, f, i));
          break;
        case FD::CPPTYPE_ENUM:
          dr->AddEnumValue(d, f, sr->GetRepeatedEnumValue(*s, f, i));
          break;
        case FD::CPPTYPE_STRING:
          dr->AddString(d, f, sr->GetRepeatedString(*s, f, i));
          break;
        case FD::CPPTYPE_MESSAGE:
          dr->AddMessage(d, f)->CopyFrom(sr->GetRepeatedMessage(*s, f, i));
          break;
      }
    }
    return;
  }
  switch (f->cpp_type()) {
    case FD::CPPTYPE_INT32:
      dr->SetInt32(d, f, sr->GetInt32(*s, f));
      break;
    case FD::CPPTYPE_INT64:
      dr->SetInt64(d, f, sr->GetInt64(*s, f));
      break;
    case FD::CPPTYPE_UINT32:
      dr->SetUInt32(d, f, sr->GetUInt32(*s, f));
      break;
    case FD::CPPTYPE_UINT64:
      dr->SetUInt64(d, f, sr->GetUInt64(*s, f));
      break;
    case FD::CPPTYPE_DOUBLE:
      dr->SetDouble(d, f, sr->GetDouble(*s, f));
      break;
    case FD::CPPTYPE_FLOAT:
      dr->SetFloat(d, f, sr->GetFloat(*s, f));
      break;
    case FD::CPPTYPE_BOOL:
      dr->SetBool(d, f, sr->GetBool(*s, f));
      break;
    case FD::CPPTYPE_ENUM:
      dr->SetEnumValue(d, f, sr->GetEnumValue(*s, f));
      break;
    case FD::CPPTYPE_STRING:
      dr->SetString(d, f, sr->GetString(*s, f));
      break;
    case FD::CPPTYPE_MESSAGE:
      dr->MutableMessage(d, f)->CopyFrom(sr->GetMessage(*s, f));
      break;
  }
}

// Protobuf 3.21 reports JSON problems as "(<location>) <unknown name>: <description>",
// "(<location>): <description>", "<unknown name>: <description>" or, for syntax errors, a
// description followed by an excerpt of the input. Returns the field the problem is about, "" when
// there is none.
std::string FieldFromJsonError(const std::string& description) {
  auto is_path = [](std::string_view p) {
    if (p.empty()) return false;
    for (const std::string_view part : Split(p, '.')) {
      std::string_view name = part;
      if (const std::size_t bracket = name.find('['); bracket != std::string_view::npos) {
        name = name.substr(0, bracket);
      }
      if (!IsIdentifier(name)) return false;
    }
    return true;
  };
  const std::size_t colon = description.find(':');
  if (colon == std::string::npos) return "";
  std::string_view head(description.data(), colon);
  std::string location;
  if (!head.empty() && head.front() == '(') {
    const std::size_t close = head.find(')');
    if (close == std::string_view::npos) return "";
    location = std::string(head.substr(1, close - 1));
    head.remove_prefix(close + 1);
    if (!head.empty() && head.front() == ' ') head.remove_prefix(1);
  }
  if (!location.empty() && !is_path(location)) return "";
  if (head.empty()) return location;
  if (!is_path(head)) return "";
  return location.empty() ? std::string(head) : location + "." + std::string(head);
}

// Keeps the first line of protobuf's description (the rest is an excerpt of the input) and
// removes the values it quotes, which may be personal data.
std::string RedactJsonError(const std::string& description) {
  std::string first_line = description.substr(0, description.find('\n'));
  std::string out;
  bool in_quote = false;
  for (const char c : first_line) {
    if (c == '"') {
      if (!in_quote) out += "<value>";
      in_quote = !in_quote;
    } else if (!in_quote) {
      out.push_back(c);
    }
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == '\r')) out.pop_back();
  return out;
}

core::Status ParseJson(const std::string& json, pb::Message* msg, std::string_view what) {
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = pb::util::JsonStringToMessage(json, msg, options);
  if (status.ok()) return core::OkStatus();
  const std::string description =
      RedactJsonError(std::string(status.message().data(), status.message().size()));
  std::vector<core::FieldViolation> violations;
  if (std::string field = FieldFromJsonError(description); !field.empty()) {
    violations.push_back({std::move(field), description});
  }
  return core::InvalidArgument(kInvalidJson,
                               std::string(what) + " is not valid JSON for " +
                                   msg->GetDescriptor()->full_name() + ": " + description,
                               kInvalidJsonJa, std::move(violations));
}

// Sets the scalar at `path` in `out` from the text `value` (a path segment or query value).
// `source` ("path variable" / "query parameter") and `name` (as the client wrote it) are for
// error messages, which never quote the value.
core::Status SetFromText(const std::vector<const pb::FieldDescriptor*>& path,
                         const std::string& value, std::string_view source, const std::string& name,
                         pb::Message* out) {
  const pb::FieldDescriptor* leaf = path.back();
  const std::string problem =
      std::string(source) + " \"" + name + "\" must be " + ExpectedValue(leaf);
  std::optional<std::string> literal = JsonLiteral(leaf, value);
  if (!literal) return InvalidParameter(problem, name);
  std::string json = *literal;
  if (leaf->is_repeated()) json = "[" + json + "]";
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    json = "{" + JsonQuote((*it)->json_name()) + ":" + json + "}";
  }
  std::unique_ptr<pb::Message> tmp(out->New());
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  if (!pb::util::JsonStringToMessage(json, tmp.get(), options).ok()) {
    return InvalidParameter(problem, name);
  }
  CopyLeaf(*tmp, out, path);
  return core::OkStatus();
}

// Resolves a query key ("a.b", proto or JSON names) to the field path it names, or explains why
// it names nothing settable from a query.
std::variant<std::vector<const pb::FieldDescriptor*>, std::string> ResolveQueryKey(
    const pb::Descriptor* input, const std::string& key) {
  std::vector<const pb::FieldDescriptor*> path;
  const pb::Descriptor* d = input;
  const std::vector<std::string_view> names = Split(key, '.');
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string name(names[i]);
    const pb::FieldDescriptor* f = d == nullptr ? nullptr : d->FindFieldByName(name);
    for (int k = 0; f == nullptr && d != nullptr && k < d->field_count(); ++k) {
      if (d->field(k)->json_name() == name) f = d->field(k);
    }
    if (f == nullptr) return "unknown query parameter \"" + key + "\"";
    path.push_back(f);
    const bool last = i + 1 == names.size();
    const bool message = f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE;
    if (!last) {
      if (!message || f->is_repeated() || IsStringLikeWellKnown(f->message_type())) {
        return "query parameter \"" + key + "\": \"" + f->name() +
               "\" is not a singular message field";
      }
      d = f->message_type();
    } else if (f->is_map() ||
               (message && (f->is_repeated() || !IsStringLikeWellKnown(f->message_type())))) {
      return "query parameter \"" + key +
             "\" names a message, map or repeated message field; send it in a JSON body instead";
    }
  }
  return path;
}

std::string CanonicalPath(const std::vector<const pb::FieldDescriptor*>& path) {
  std::string s;
  for (const pb::FieldDescriptor* f : path) {
    if (!s.empty()) s += ".";
    s += f->name();
  }
  return s;
}

// True when `leaf`'s oneof (if any) already holds another member in `msg` along `path`.
bool OneofTaken(const pb::Message& msg, const std::vector<const pb::FieldDescriptor*>& path) {
  const pb::Message* m = &msg;
  for (std::size_t i = 0; i + 1 < path.size(); ++i) {
    if (!m->GetReflection()->HasField(*m, path[i])) return false;
    m = &m->GetReflection()->GetMessage(*m, path[i]);
  }
  const pb::OneofDescriptor* oneof = path.back()->real_containing_oneof();
  if (oneof == nullptr) return false;
  const pb::FieldDescriptor* set = m->GetReflection()->GetOneofFieldDescriptor(*m, oneof);
  return set != nullptr && set != path.back();
}

}  // namespace

core::Result<RestRouteTable> RestRouteTable::Build(
    const std::vector<const pb::ServiceDescriptor*>& services) {
  RestRouteTable table;
  std::set<std::string> shapes;
  for (const pb::ServiceDescriptor* service : services) {
    for (int i = 0; i < service->method_count(); ++i) {
      const pb::MethodDescriptor* method = service->method(i);
      if (!method->options().HasExtension(google::api::http)) continue;
      if (method->client_streaming()) {
        return Unservable(method, std::string(method->server_streaming()
                                                  ? "bidirectional streaming"
                                                  : "client streaming") +
                                      " methods cannot be served over REST (only unary and "
                                      "server streaming methods can)");
      }
      const google::api::HttpRule& rule = method->options().GetExtension(google::api::http);
      const RuleContext ctx{method, &table.routes_, &shapes};
      if (auto error = AddRule(ctx, rule, false)) return *std::move(error);
      for (const google::api::HttpRule& binding : rule.additional_bindings()) {
        if (auto error = AddRule(ctx, binding, true)) return *std::move(error);
      }
    }
  }
  return table;
}

std::variant<RouteMatch, RestRouteTable::MatchError> RestRouteTable::Match(
    std::string_view http_method, std::string_view path) const {
  if (path.empty() || path[0] != '/') return MatchError::kNotFound;
  const std::string_view rest = path.substr(1);
  std::vector<std::string_view> raw;
  if (!rest.empty()) raw = Split(rest, '/');

  bool other_method = false;
  std::optional<RouteMatch> best;
  std::vector<int> best_rank;
  for (const RestRoute& route : routes_) {
    std::vector<std::string_view> segs = raw;
    if (!route.verb.empty()) {
      if (segs.empty()) continue;
      std::string_view& last = segs.back();
      const std::size_t suffix = route.verb.size() + 1;
      if (last.size() <= suffix || last[last.size() - suffix] != ':' ||
          last.substr(last.size() - route.verb.size()) != route.verb) {
        continue;
      }
      last.remove_suffix(suffix);
    }
    if (segs.size() != route.segments.size()) continue;
    RouteMatch match{&route, {}};
    std::vector<int> rank;
    bool ok = true;
    for (std::size_t i = 0; i < segs.size() && ok; ++i) {
      std::optional<std::string> decoded = PercentDecode(segs[i], false);
      const RestPathSegment& seg = route.segments[i];
      if (!decoded) {
        ok = false;
      } else if (seg.is_variable) {
        ok = !decoded->empty();
        match.path_bindings.emplace_back(seg.text, std::move(*decoded));
      } else {
        ok = *decoded == seg.text;
      }
      rank.push_back(seg.is_variable ? 0 : 1);
    }
    if (!ok) continue;
    if (route.http_method != http_method) {
      other_method = true;
      continue;
    }
    rank.push_back(route.verb.empty() ? 0 : 1);
    if (!best || rank > best_rank) {
      best = std::move(match);
      best_rank = std::move(rank);
    }
  }
  if (best) return *std::move(best);
  return other_method ? MatchError::kMethodNotAllowed : MatchError::kNotFound;
}

core::Status BuildRequestMessage(const RouteMatch& match, std::string_view query,
                                 std::string_view body, pb::Message* out) {
  if (match.route == nullptr || out == nullptr ||
      out->GetDescriptor() != match.route->method->input_type()) {
    return core::Internal("BuildRequestMessage called with a message of the wrong type");
  }
  const RestRoute& route = *match.route;
  const pb::Descriptor* input = out->GetDescriptor();

  // 1. Body.
  if (route.body.empty()) {
    if (!IsBlank(body)) {
      return InvalidParameter(route.http_method + " " + route.path_template +
                                  " takes no request body; send the fields as query parameters",
                              "");
    }
  } else if (route.body == "*") {
    if (!IsBlank(body)) {
      if (auto s = ParseJson(std::string(body), out, "request body"); !s.ok()) return s;
    }
  } else if (!IsBlank(body)) {
    const pb::FieldDescriptor* field = input->FindFieldByName(route.body);
    // Wrap the body as the value of its field. The check below refuses a body that smuggles
    // in other fields ("1, \"other\": 2").
    const std::string wrapped =
        "{" + JsonQuote(field->json_name()) + ":" + std::string(body) + "\n}";
    std::unique_ptr<pb::Message> tmp(out->New());
    if (auto s = ParseJson(wrapped, tmp.get(), "request body"); !s.ok()) return s;
    std::vector<const pb::FieldDescriptor*> set_fields;
    tmp->GetReflection()->ListFields(*tmp, &set_fields);
    for (const pb::FieldDescriptor* f : set_fields) {
      if (f != field) {
        return core::InvalidArgument(
            kInvalidJson,
            "request body must be a single JSON value for field \"" + field->json_name() + "\"",
            kInvalidJsonJa, {{field->json_name(), "must be a single JSON value"}});
      }
    }
    out->MergeFrom(*tmp);
  }

  // 2. Path bindings (override what the body said for the same fields).
  std::set<std::string> bound;
  for (const auto& [name, value] : match.path_bindings) {
    const auto seg =
        std::find_if(route.segments.begin(), route.segments.end(),
                     [&](const RestPathSegment& s) { return s.is_variable && s.text == name; });
    if (seg == route.segments.end()) {
      return core::Internal("path binding for a variable the route does not have");
    }
    if (auto s = SetFromText(seg->field_path, value, "path variable", name, out); !s.ok()) {
      return s;
    }
    bound.insert(name);
  }

  // 3. Query parameters.
  if (query.empty()) return core::OkStatus();
  std::set<std::string> seen;
  for (const std::string_view piece : Split(query, '&')) {
    if (piece.empty()) continue;
    const std::size_t eq = piece.find('=');
    const std::optional<std::string> key = PercentDecode(piece.substr(0, eq), true);
    const std::optional<std::string> value = eq == std::string_view::npos
                                                 ? std::optional<std::string>("")
                                                 : PercentDecode(piece.substr(eq + 1), true);
    if (!key || !value || !IsValidUtf8(*key)) {
      return InvalidParameter("query string is not correctly percent-encoded",
                              key && IsValidUtf8(*key) ? *key : "");
    }
    if (route.body == "*") {
      return InvalidParameter(
          "query parameter \"" + *key + "\" is not accepted: every field comes from the JSON body",
          *key);
    }
    auto resolved = ResolveQueryKey(input, *key);
    if (auto* problem = std::get_if<std::string>(&resolved)) {
      return InvalidParameter(*problem, *key);
    }
    const auto& path = std::get<std::vector<const pb::FieldDescriptor*>>(resolved);
    const std::string canonical = CanonicalPath(path);
    if (bound.count(canonical) > 0) {
      return InvalidParameter("query parameter \"" + *key + "\" is already bound by the path",
                              *key);
    }
    if (!route.body.empty() && path.front()->name() == route.body) {
      return InvalidParameter(
          "query parameter \"" + *key + "\" is not accepted: it is taken from the JSON body", *key);
    }
    if (!path.back()->is_repeated() && !seen.insert(canonical).second) {
      return InvalidParameter("query parameter \"" + *key + "\" is given more than once", *key);
    }
    if (OneofTaken(*out, path)) {
      return InvalidParameter("query parameter \"" + *key +
                                  "\" conflicts with another member of "
                                  "oneof " +
                                  path.back()->real_containing_oneof()->name(),
                              *key);
    }
    if (auto s = SetFromText(path, *value, "query parameter", *key, out); !s.ok()) return s;
  }
  return core::OkStatus();
}

}  // namespace onshid::api
