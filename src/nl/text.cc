// UTF-8 decoding and the character folds the parser reads through.
#include "nl/text.h"

#include <algorithm>
#include <array>
#include <utility>

namespace peel::nl {

namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Traditional spellings of the characters in the parser's vocabulary, sorted by the
// traditional character for binary search. Covers the words, not the whole script: a request
// written in traditional characters reads the same as its simplified twin.
constexpr std::pair<char32_t, char32_t> kTraditional[] = {
    {U'並', U'并'}, {U'個', U'个'}, {U'們', U'们'}, {U'僅', U'仅'}, {U'內', U'内'}, {U'兩', U'两'},
    {U'別', U'别'}, {U'務', U'务'}, {U'區', U'区'}, {U'單', U'单'}, {U'國', U'国'}, {U'聲', U'声'},
    {U'處', U'处'}, {U'夾', U'夹'}, {U'實', U'实'}, {U'將', U'将'}, {U'專', U'专'}, {U'導', U'导'},
    {U'對', U'对'}, {U'層', U'层'}, {U'幫', U'帮'}, {U'應', U'应'}, {U'開', U'开'}, {U'強', U'强'},
    {U'後', U'后'}, {U'從', U'从'}, {U'態', U'态'}, {U'採', U'采'}, {U'換', U'换'}, {U'據', U'据'},
    {U'擇', U'择'}, {U'數', U'数'}, {U'時', U'时'}, {U'會', U'会'}, {U'條', U'条'}, {U'來', U'来'},
    {U'極', U'极'}, {U'標', U'标'}, {U'樣', U'样'}, {U'檔', U'档'}, {U'歸', U'归'}, {U'溫', U'温'},
    {U'準', U'准'}, {U'滿', U'满'}, {U'無', U'无'}, {U'為', U'为'}, {U'點', U'点'}, {U'環', U'环'},
    {U'當', U'当'}, {U'碼', U'码'}, {U'種', U'种'}, {U'節', U'节'}, {U'範', U'范'}, {U'粵', U'粤'},
    {U'級', U'级'}, {U'紀', U'纪'}, {U'結', U'结'}, {U'給', U'给'}, {U'統', U'统'}, {U'編', U'编'},
    {U'縮', U'缩'}, {U'繞', U'绕'}, {U'義', U'义'}, {U'聽', U'听'}, {U'與', U'与'}, {U'萬', U'万'},
    {U'華', U'华'}, {U'裏', U'里'}, {U'裡', U'里'}, {U'複', U'复'}, {U'製', U'制'}, {U'視', U'视'},
    {U'覺', U'觉'}, {U'記', U'记'}, {U'設', U'设'}, {U'話', U'话'}, {U'評', U'评'}, {U'識', U'识'},
    {U'語', U'语'}, {U'說', U'说'}, {U'請', U'请'}, {U'論', U'论'}, {U'講', U'讲'}, {U'變', U'变'},
    {U'讀', U'读'}, {U'貝', U'贝'}, {U'質', U'质'}, {U'軌', U'轨'}, {U'較', U'较'}, {U'輸', U'输'},
    {U'轉', U'转'}, {U'這', U'这'}, {U'連', U'连'}, {U'過', U'过'}, {U'選', U'选'}, {U'邊', U'边'},
    {U'錄', U'录'}, {U'鐘', U'钟'}, {U'長', U'长'}, {U'間', U'间'}, {U'際', U'际'}, {U'雙', U'双'},
    {U'靜', U'静'}, {U'響', U'响'}, {U'頭', U'头'}, {U'題', U'题'}, {U'頻', U'频'}, {U'體', U'体'},
    {U'麼', U'么'}, {U'齊', U'齐'}, {U'減', U'减'}, {U'漸', U'渐'}, {U'調', U'调'}, {U'壓', U'压'},
    {U'損', U'损'}, {U'韓', U'韩'}, {U'號', U'号'}, {U'優', U'优'},
};

constexpr auto sorted_traditional() {
  std::array<std::pair<char32_t, char32_t>, std::size(kTraditional)> t{};
  std::copy(std::begin(kTraditional), std::end(kTraditional), t.begin());
  std::sort(t.begin(), t.end());
  return t;
}

constexpr auto kTraditionalSorted = sorted_traditional();

}  // namespace

std::u32string decode_utf8(std::string_view s, std::vector<size_t>* offsets) {
  std::u32string out;
  out.reserve(s.size());
  if (offsets != nullptr) offsets->clear();
  size_t i = 0;
  while (i < s.size()) {
    if (offsets != nullptr) offsets->push_back(i);
    const auto b = static_cast<unsigned char>(s[i]);
    int len = 0;
    char32_t c = 0;
    char32_t min = 0;
    if (b < 0x80) {
      out.push_back(b);
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      len = 2, c = b & 0x1F, min = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3, c = b & 0x0F, min = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4, c = b & 0x07, min = 0x10000;
    } else {
      out.push_back(kReplacement);
      ++i;
      continue;
    }
    int k = 1;
    for (; k < len && i + k < s.size(); ++k) {
      const auto cont = static_cast<unsigned char>(s[i + k]);
      if ((cont & 0xC0) != 0x80) break;
      c = (c << 6) | (cont & 0x3F);
    }
    if (k < len || c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
      out.push_back(kReplacement);
      i += static_cast<size_t>(k);  // resynchronise at the byte that broke the sequence
      continue;
    }
    out.push_back(c);
    i += static_cast<size_t>(len);
  }
  if (offsets != nullptr) offsets->push_back(s.size());
  return out;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

std::string encode_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) append_utf8(out, c);
  return out;
}

char32_t fold(char32_t c, bool lower) {
  if (c >= 0xFF01 && c <= 0xFF5E) c -= 0xFEE0;  // full-width ASCII: "２分钟", "，", "ＭＰ３"
  switch (c) {
    case 0x3000:
    case 0x00A0:
    case 0x2026:
    case U'\t':
    case U'\n':
    case U'\r':
      return U' ';
    case 0x3001:
      return U',';  // 、
    case 0x3002:
      return U'.';  // 。
    case 0x2018:
    case 0x2019:
      return U'\'';
    case 0x201C:
    case 0x201D:
    case 0x300C:
    case 0x300D:
    case 0x300E:
    case 0x300F:
    case 0x300A:
    case 0x300B:
      return U'"';  // “” 「」 『』 《》
    case 0x2010:
    case 0x2011:
    case 0x2012:
    case 0x2013:
    case 0x2014:
    case 0x2212:
      return U'-';
    case 0x301C:
      return U'~';  // 〜
    default:
      break;
  }
  if (lower && c >= U'A' && c <= U'Z') return c - U'A' + U'a';
  if (c >= 0x4E00) {
    const auto* it = std::lower_bound(kTraditionalSorted.begin(), kTraditionalSorted.end(),
                                      std::pair<char32_t, char32_t>{c, 0});
    if (it != kTraditionalSorted.end() && it->first == c) return it->second;
  }
  return c;
}

bool is_han(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0xF900 && c <= 0xFAFF);
}

}  // namespace peel::nl
