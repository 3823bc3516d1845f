/* A Bison parser, made by GNU Bison 3.8.2.  */

/* Bison implementation for Yacc-like parsers in C

   Copyright (C) 1984, 1989-1990, 2000-2015, 2018-2021 Free Software Foundation,
   Inc.

   This program is free software: you can redistribute it and/or modify
   it under the terms of the GNU General Public License as published by
   the Free Software Foundation, either version 3 of the License, or
   (at your option) any later version.

   This program is distributed in the hope that it will be useful,
   but WITHOUT ANY WARRANTY; without even the implied warranty of
   MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
   GNU General Public License for more details.

   You should have received a copy of the GNU General Public License
   along with this program.  If not, see <https://www.gnu.org/licenses/>.  */

/* As a special exception, you may create a larger work that contains
   part or all of the Bison parser skeleton and distribute that work
   under terms of your choice, so long as that work isn't itself a
   parser generator using the skeleton or a modified version thereof
   as a parser skeleton.  Alternatively, if you modify or redistribute
   the parser skeleton itself, you may (at your option) remove this
   special exception, which will cause the skeleton and the resulting
   Bison output files to be licensed under the GNU General Public
   License without this special exception.

   This special exception was added by the Free Software Foundation in
   version 2.2 of Bison.  */

/* C LALR(1) parser skeleton written by Richard Stallman, by
   simplifying the original so-called "semantic" parser.  */

/* DO NOT RELY ON FEATURES THAT ARE NOT DOCUMENTED in the manual,
   especially those whose name start with YY_ or yy_.  They are
   private implementation details that can be changed or removed.  */

/* All symbols defined below should begin with yy or YY, to avoid
   infringing on user name space.  This should be done even for local
   variables, as they might otherwise be expanded by user macros.
   There are some unavoidable exceptions within include files to
   define necessary library symbols; they are noted "INFRINGES ON
   USER NAME SPACE" below.  */

/* Identify Bison output, and Bison version.  */
#define YYBISON 30802

/* Bison version string.  */
#define YYBISON_VERSION "3.8.2"

/* Skeleton name.  */
#define YYSKELETON_NAME "yacc.c"

/* Pure parsers.  */
#define YYPURE 2

/* Push parsers.  */
#define YYPUSH 0

/* Pull parsers.  */
#define YYPULL 1

/* "%code top" blocks.  */
#line 1 "lang/parser.y"

/* parser.y — the Seg grammar (bison, pure, LALR(1) with LAC).
 *
 * The rules follow docs/language.md one for one; the EBNF above each group
 * is copied from there. Every semantic action is a single call to an AST
 * constructor (lang/ast.c); declarations are appended to the file as each
 * one completes, so a parse that stops early keeps what came before.
 * There are no statement separators: the grammar is LALR(1) without them
 * because no statement or item starts with a token that could continue an
 * expression (%expect 0 keeps it that way).
 *
 * Tokens come from seg_lex (lexer.l), a layer over the flex scanner that
 * matches brackets: it reports and repairs missing closers ("expected '}'
 * before 'net'": it hands bison the closers, then the keyword), enforces
 * SEG_MAX_NESTING, and skips tokens while bison recovers from an error.
 *
 * Error recovery: the three lists (declarations, statements, schedule
 * items) each have an `error` alternative. Its action, seg_parse_sync,
 * looks at the lookahead: a token that can start the next element (a
 * keyword, or a name that begins a line, at the list's bracket depth) is
 * kept; anything else is dropped and the layer skips ahead to such a token
 * or to the list's closing '}'. Since recovery resumes only at a trusted
 * token, the action re-arms error reports at once (yyerrok) instead of
 * bison's usual three shifted tokens, so an error in the very next element
 * is not lost. Each token is reported at most once and kept at most once,
 * so every round of recovery makes progress. Tokens the layer inserted are
 * never reported: one mistake gives one message.
 *
 * Messages (parse.error custom, exact expected sets thanks to LAC) read
 * like GCC's: "expected ')' before 'net'", "expected a name before '('",
 * "unexpected 'output', expected an expression", "unexpected end of
 * input, expected '}'". Bison's "memory exhausted" (its stack limit, hit by
 * thousands of nested `not`, `-` or `**` that no bracket counts) becomes a
 * located "nesting too deep", and ast.c rejects a declaration whose tree
 * is deeper than SEG_MAX_TREE_DEPTH (long flat chains like 1 + 1 + ...).
 * No %destructor is needed: every semantic value lives in the file's arena.
 */

#line 107 "build-debug/gen/parser.c"




# ifndef YY_CAST
#  ifdef __cplusplus
#   define YY_CAST(Type, Val) static_cast<Type> (Val)
#   define YY_REINTERPRET_CAST(Type, Val) reinterpret_cast<Type> (Val)
#  else
#   define YY_CAST(Type, Val) ((Type) (Val))
#   define YY_REINTERPRET_CAST(Type, Val) ((Type) (Val))
#  endif
# endif
# ifndef YY_NULLPTR
#  if defined __cplusplus
#   if 201103L <= __cplusplus
#    define YY_NULLPTR nullptr
#   else
#    define YY_NULLPTR 0
#   endif
#  else
#   define YY_NULLPTR ((void*)0)
#  endif
# endif

#include "parser.h"
/* Symbol kind.  */
enum yysymbol_kind_t
{
  YYSYMBOL_YYEMPTY = -2,
  YYSYMBOL_YYEOF = 0,                      /* "end of file"  */
  YYSYMBOL_YYerror = 1,                    /* error  */
  YYSYMBOL_YYUNDEF = 2,                    /* "invalid token"  */
  YYSYMBOL_NAME = 3,                       /* "name"  */
  YYSYMBOL_INT = 4,                        /* "integer"  */
  YYSYMBOL_FLOAT = 5,                      /* "number"  */
  YYSYMBOL_STRING = 6,                     /* "string"  */
  YYSYMBOL_IMPORT = 7,                     /* "import"  */
  YYSYMBOL_BLOCK = 8,                      /* "block"  */
  YYSYMBOL_NET = 9,                        /* "net"  */
  YYSYMBOL_SCHEDULE = 10,                  /* "schedule"  */
  YYSYMBOL_STAGE = 11,                     /* "stage"  */
  YYSYMBOL_INPUT = 12,                     /* "input"  */
  YYSYMBOL_OUTPUT = 13,                    /* "output"  */
  YYSYMBOL_RETURN = 14,                    /* "return"  */
  YYSYMBOL_FOR = 15,                       /* "for"  */
  YYSYMBOL_IN = 16,                        /* "in"  */
  YYSYMBOL_STEP = 17,                      /* "step"  */
  YYSYMBOL_IF = 18,                        /* "if"  */
  YYSYMBOL_ELSE = 19,                      /* "else"  */
  YYSYMBOL_SCOPE = 20,                     /* "scope"  */
  YYSYMBOL_TRUE = 21,                      /* "true"  */
  YYSYMBOL_FALSE = 22,                     /* "false"  */
  YYSYMBOL_AND = 23,                       /* "and"  */
  YYSYMBOL_OR = 24,                        /* "or"  */
  YYSYMBOL_NOT = 25,                       /* "not"  */
  YYSYMBOL_POW = 26,                       /* "**"  */
  YYSYMBOL_EQ = 27,                        /* "=="  */
  YYSYMBOL_NE = 28,                        /* "!="  */
  YYSYMBOL_LE = 29,                        /* "<="  */
  YYSYMBOL_GE = 30,                        /* ">="  */
  YYSYMBOL_DOTDOT = 31,                    /* ".."  */
  YYSYMBOL_32_ = 32,                       /* '='  */
  YYSYMBOL_33_ = 33,                       /* '('  */
  YYSYMBOL_34_ = 34,                       /* ')'  */
  YYSYMBOL_35_ = 35,                       /* '{'  */
  YYSYMBOL_36_ = 36,                       /* '}'  */
  YYSYMBOL_37_ = 37,                       /* ','  */
  YYSYMBOL_38_ = 38,                       /* ':'  */
  YYSYMBOL_39_ = 39,                       /* '['  */
  YYSYMBOL_40_ = 40,                       /* ']'  */
  YYSYMBOL_41_ = 41,                       /* '<'  */
  YYSYMBOL_42_ = 42,                       /* '>'  */
  YYSYMBOL_43_ = 43,                       /* '+'  */
  YYSYMBOL_44_ = 44,                       /* '-'  */
  YYSYMBOL_45_ = 45,                       /* '*'  */
  YYSYMBOL_46_ = 46,                       /* '/'  */
  YYSYMBOL_47_ = 47,                       /* '%'  */
  YYSYMBOL_48_ = 48,                       /* '.'  */
  YYSYMBOL_YYACCEPT = 49,                  /* $accept  */
  YYSYMBOL_file = 50,                      /* file  */
  YYSYMBOL_decl = 51,                      /* decl  */
  YYSYMBOL_params_opt = 52,                /* params_opt  */
  YYSYMBOL_params = 53,                    /* params  */
  YYSYMBOL_param = 54,                     /* param  */
  YYSYMBOL_body = 55,                      /* body  */
  YYSYMBOL_stmts = 56,                     /* stmts  */
  YYSYMBOL_stmt = 57,                      /* stmt  */
  YYSYMBOL_if_stmt = 58,                   /* if_stmt  */
  YYSYMBOL_else_opt = 59,                  /* else_opt  */
  YYSYMBOL_target = 60,                    /* target  */
  YYSYMBOL_items = 61,                     /* items  */
  YYSYMBOL_item = 62,                      /* item  */
  YYSYMBOL_exprs = 63,                     /* exprs  */
  YYSYMBOL_expr = 64,                      /* expr  */
  YYSYMBOL_or_expr = 65,                   /* or_expr  */
  YYSYMBOL_and_expr = 66,                  /* and_expr  */
  YYSYMBOL_not_expr = 67,                  /* not_expr  */
  YYSYMBOL_cmp_expr = 68,                  /* cmp_expr  */
  YYSYMBOL_cmp_op = 69,                    /* cmp_op  */
  YYSYMBOL_range_expr = 70,                /* range_expr  */
  YYSYMBOL_sum = 71,                       /* sum  */
  YYSYMBOL_term = 72,                      /* term  */
  YYSYMBOL_unary = 73,                     /* unary  */
  YYSYMBOL_power = 74,                     /* power  */
  YYSYMBOL_postfix = 75,                   /* postfix  */
  YYSYMBOL_primary = 76,                   /* primary  */
  YYSYMBOL_args = 77,                      /* args  */
  YYSYMBOL_arg_list = 78,                  /* arg_list  */
  YYSYMBOL_arg = 79                        /* arg  */
};
typedef enum yysymbol_kind_t yysymbol_kind_t;



/* Unqualified %code blocks.  */
#line 62 "lang/parser.y"

#include <string.h>

#define yylex seg_lex

/* Bison's stacks go through the allocation funnel too. */
#define YYMALLOC(n) seg_xrealloc(NULL, (n))
#define YYFREE seg_free

/* Stack limit; deeper input is "nesting too deep". 200 bracket levels
 * need at most about 15 states each, so honest files never come close. */
#define YYMAXDEPTH 10000

/* A nonterminal spans its first symbol's start to its last symbol's end;
 * an empty one is an empty span just after the previous symbol. */
#define YYLLOC_DEFAULT(Cur, Rhs, N)                                     \
    do {                                                                \
        if (N) {                                                        \
            (Cur) = YYRHSLOC(Rhs, 1);                                   \
            (Cur).end_line = YYRHSLOC(Rhs, N).end_line;                 \
            (Cur).end_col = YYRHSLOC(Rhs, N).end_col;                   \
        } else {                                                        \
            (Cur) = YYRHSLOC(Rhs, 0);                                   \
            (Cur).line = (Cur).end_line;                                \
            (Cur).col = (Cur).end_col + 1;                              \
        }                                                               \
    } while (0)

static void yyerror(YYLTYPE *loc, yyscan_t scanner, seg_parser *ps, const char *msg);

/* The action of every `error` alternative; see seg_parse_sync. */
#define SEG_RECOVER(body)                                   \
    do {                                                    \
        int r_ = seg_parse_sync(ps, yychar, (body));        \
        if (r_ & SEG_SYNC_DROP)                             \
            yyclearin;                                      \
        if (r_ & SEG_SYNC_ERROK)                            \
            yyerrok;                                        \
    } while (0)

#line 265 "build-debug/gen/parser.c"

#ifdef short
# undef short
#endif

/* On compilers that do not define __PTRDIFF_MAX__ etc., make sure
   <limits.h> and (if available) <stdint.h> are included
   so that the code can choose integer types of a good width.  */

#ifndef __PTRDIFF_MAX__
# include <limits.h> /* INFRINGES ON USER NAME SPACE */
# if defined __STDC_VERSION__ && 199901 <= __STDC_VERSION__
#  include <stdint.h> /* INFRINGES ON USER NAME SPACE */
#  define YY_STDINT_H
# endif
#endif

/* Narrow types that promote to a signed type and that can represent a
   signed or unsigned integer of at least N bits.  In tables they can
   save space and decrease cache pressure.  Promoting to a signed type
   helps avoid bugs in integer arithmetic.  */

#ifdef __INT_LEAST8_MAX__
typedef __INT_LEAST8_TYPE__ yytype_int8;
#elif defined YY_STDINT_H
typedef int_least8_t yytype_int8;
#else
typedef signed char yytype_int8;
#endif

#ifdef __INT_LEAST16_MAX__
typedef __INT_LEAST16_TYPE__ yytype_int16;
#elif defined YY_STDINT_H
typedef int_least16_t yytype_int16;
#else
typedef short yytype_int16;
#endif

/* Work around bug in HP-UX 11.23, which defines these macros
   incorrectly for preprocessor constants.  This workaround can likely
   be removed in 2023, as HPE has promised support for HP-UX 11.23
   (aka HP-UX 11i v2) only through the end of 2022; see Table 2 of
   <https://h20195.www2.hpe.com/V2/getpdf.aspx/4AA4-7673ENW.pdf>.  */
#ifdef __hpux
# undef UINT_LEAST8_MAX
# undef UINT_LEAST16_MAX
# define UINT_LEAST8_MAX 255
# define UINT_LEAST16_MAX 65535
#endif

#if defined __UINT_LEAST8_MAX__ && __UINT_LEAST8_MAX__ <= __INT_MAX__
typedef __UINT_LEAST8_TYPE__ yytype_uint8;
#elif (!defined __UINT_LEAST8_MAX__ && defined YY_STDINT_H \
       && UINT_LEAST8_MAX <= INT_MAX)
typedef uint_least8_t yytype_uint8;
#elif !defined __UINT_LEAST8_MAX__ && UCHAR_MAX <= INT_MAX
typedef unsigned char yytype_uint8;
#else
typedef short yytype_uint8;
#endif

#if defined __UINT_LEAST16_MAX__ && __UINT_LEAST16_MAX__ <= __INT_MAX__
typedef __UINT_LEAST16_TYPE__ yytype_uint16;
#elif (!defined __UINT_LEAST16_MAX__ && defined YY_STDINT_H \
       && UINT_LEAST16_MAX <= INT_MAX)
typedef uint_least16_t yytype_uint16;
#elif !defined __UINT_LEAST16_MAX__ && USHRT_MAX <= INT_MAX
typedef unsigned short yytype_uint16;
#else
typedef int yytype_uint16;
#endif

#ifndef YYPTRDIFF_T
# if defined __PTRDIFF_TYPE__ && defined __PTRDIFF_MAX__
#  define YYPTRDIFF_T __PTRDIFF_TYPE__
#  define YYPTRDIFF_MAXIMUM __PTRDIFF_MAX__
# elif defined PTRDIFF_MAX
#  ifndef ptrdiff_t
#   include <stddef.h> /* INFRINGES ON USER NAME SPACE */
#  endif
#  define YYPTRDIFF_T ptrdiff_t
#  define YYPTRDIFF_MAXIMUM PTRDIFF_MAX
# else
#  define YYPTRDIFF_T long
#  define YYPTRDIFF_MAXIMUM LONG_MAX
# endif
#endif

#ifndef YYSIZE_T
# ifdef __SIZE_TYPE__
#  define YYSIZE_T __SIZE_TYPE__
# elif defined size_t
#  define YYSIZE_T size_t
# elif defined __STDC_VERSION__ && 199901 <= __STDC_VERSION__
#  include <stddef.h> /* INFRINGES ON USER NAME SPACE */
#  define YYSIZE_T size_t
# else
#  define YYSIZE_T unsigned
# endif
#endif

#define YYSIZE_MAXIMUM                                  \
  YY_CAST (YYPTRDIFF_T,                                 \
           (YYPTRDIFF_MAXIMUM < YY_CAST (YYSIZE_T, -1)  \
            ? YYPTRDIFF_MAXIMUM                         \
            : YY_CAST (YYSIZE_T, -1)))

#define YYSIZEOF(X) YY_CAST (YYPTRDIFF_T, sizeof (X))


/* Stored state numbers (used for stacks). */
typedef yytype_uint8 yy_state_t;

/* State numbers in computations.  */
typedef int yy_state_fast_t;

#ifndef YY_
# if defined YYENABLE_NLS && YYENABLE_NLS
#  if ENABLE_NLS
#   include <libintl.h> /* INFRINGES ON USER NAME SPACE */
#   define YY_(Msgid) dgettext ("bison-runtime", Msgid)
#  endif
# endif
# ifndef YY_
#  define YY_(Msgid) Msgid
# endif
#endif


#ifndef YY_ATTRIBUTE_PURE
# if defined __GNUC__ && 2 < __GNUC__ + (96 <= __GNUC_MINOR__)
#  define YY_ATTRIBUTE_PURE __attribute__ ((__pure__))
# else
#  define YY_ATTRIBUTE_PURE
# endif
#endif

#ifndef YY_ATTRIBUTE_UNUSED
# if defined __GNUC__ && 2 < __GNUC__ + (7 <= __GNUC_MINOR__)
#  define YY_ATTRIBUTE_UNUSED __attribute__ ((__unused__))
# else
#  define YY_ATTRIBUTE_UNUSED
# endif
#endif

/* Suppress unused-variable warnings by "using" E.  */
#if ! defined lint || defined __GNUC__
# define YY_USE(E) ((void) (E))
#else
# define YY_USE(E) /* empty */
#endif

/* Suppress an incorrect diagnostic about yylval being uninitialized.  */
#if defined __GNUC__ && ! defined __ICC && 406 <= __GNUC__ * 100 + __GNUC_MINOR__
# if __GNUC__ * 100 + __GNUC_MINOR__ < 407
#  define YY_IGNORE_MAYBE_UNINITIALIZED_BEGIN                           \
    _Pragma ("GCC diagnostic push")                                     \
    _Pragma ("GCC diagnostic ignored \"-Wuninitialized\"")
# else
#  define YY_IGNORE_MAYBE_UNINITIALIZED_BEGIN                           \
    _Pragma ("GCC diagnostic push")                                     \
    _Pragma ("GCC diagnostic ignored \"-Wuninitialized\"")              \
    _Pragma ("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")
# endif
# define YY_IGNORE_MAYBE_UNINITIALIZED_END      \
    _Pragma ("GCC diagnostic pop")
#else
# define YY_INITIAL_VALUE(Value) Value
#endif
#ifndef YY_IGNORE_MAYBE_UNINITIALIZED_BEGIN
# define YY_IGNORE_MAYBE_UNINITIALIZED_BEGIN
# define YY_IGNORE_MAYBE_UNINITIALIZED_END
#endif
#ifndef YY_INITIAL_VALUE
# define YY_INITIAL_VALUE(Value) /* Nothing. */
#endif

#if defined __cplusplus && defined __GNUC__ && ! defined __ICC && 6 <= __GNUC__
# define YY_IGNORE_USELESS_CAST_BEGIN                          \
    _Pragma ("GCC diagnostic push")                            \
    _Pragma ("GCC diagnostic ignored \"-Wuseless-cast\"")
# define YY_IGNORE_USELESS_CAST_END            \
    _Pragma ("GCC diagnostic pop")
#endif
#ifndef YY_IGNORE_USELESS_CAST_BEGIN
# define YY_IGNORE_USELESS_CAST_BEGIN
# define YY_IGNORE_USELESS_CAST_END
#endif


#define YY_ASSERT(E) ((void) (0 && (E)))

#if 1

/* The parser invokes alloca or malloc; define the necessary symbols.  */

# ifdef YYSTACK_ALLOC
   /* Pacify GCC's 'empty if-body' warning.  */
#  define YYSTACK_FREE(Ptr) do { /* empty */; } while (0)
#  ifndef YYSTACK_ALLOC_MAXIMUM
    /* The OS might guarantee only one guard page at the bottom of the stack,
       and a page size can be as small as 4096 bytes.  So we cannot safely
       invoke alloca (N) if N exceeds 4096.  Use a slightly smaller number
       to allow for a few compiler-allocated temporary stack slots.  */
#   define YYSTACK_ALLOC_MAXIMUM 4032 /* reasonable circa 2006 */
#  endif
# else
#  define YYSTACK_ALLOC YYMALLOC
#  define YYSTACK_FREE YYFREE
#  ifndef YYSTACK_ALLOC_MAXIMUM
#   define YYSTACK_ALLOC_MAXIMUM YYSIZE_MAXIMUM
#  endif
#  if (defined __cplusplus && ! defined EXIT_SUCCESS \
       && ! ((defined YYMALLOC || defined malloc) \
             && (defined YYFREE || defined free)))
#   include <stdlib.h> /* INFRINGES ON USER NAME SPACE */
#   ifndef EXIT_SUCCESS
#    define EXIT_SUCCESS 0
#   endif
#  endif
#  ifndef YYMALLOC
#   define YYMALLOC malloc
#   if ! defined malloc && ! defined EXIT_SUCCESS
void *malloc (YYSIZE_T); /* INFRINGES ON USER NAME SPACE */
#   endif
#  endif
#  ifndef YYFREE
#   define YYFREE free
#   if ! defined free && ! defined EXIT_SUCCESS
void free (void *); /* INFRINGES ON USER NAME SPACE */
#   endif
#  endif
# endif
# define YYCOPY_NEEDED 1
#endif /* 1 */

#if (! defined yyoverflow \
     && (! defined __cplusplus \
         || (defined YYLTYPE_IS_TRIVIAL && YYLTYPE_IS_TRIVIAL \
             && defined YYSTYPE_IS_TRIVIAL && YYSTYPE_IS_TRIVIAL)))

/* A type that is properly aligned for any stack member.  */
union yyalloc
{
  yy_state_t yyss_alloc;
  YYSTYPE yyvs_alloc;
  YYLTYPE yyls_alloc;
};

/* The size of the maximum gap between one aligned stack and the next.  */
# define YYSTACK_GAP_MAXIMUM (YYSIZEOF (union yyalloc) - 1)

/* The size of an array large to enough to hold all stacks, each with
   N elements.  */
# define YYSTACK_BYTES(N) \
     ((N) * (YYSIZEOF (yy_state_t) + YYSIZEOF (YYSTYPE) \
             + YYSIZEOF (YYLTYPE)) \
      + 2 * YYSTACK_GAP_MAXIMUM)

# define YYCOPY_NEEDED 1

/* Relocate STACK from its old location to the new one.  The
   local variables YYSIZE and YYSTACKSIZE give the old and new number of
   elements in the stack, and YYPTR gives the new location of the
   stack.  Advance YYPTR to a properly aligned location for the next
   stack.  */
# define YYSTACK_RELOCATE(Stack_alloc, Stack)                           \
    do                                                                  \
      {                                                                 \
        YYPTRDIFF_T yynewbytes;                                         \
        YYCOPY (&yyptr->Stack_alloc, Stack, yysize);                    \
        Stack = &yyptr->Stack_alloc;                                    \
        yynewbytes = yystacksize * YYSIZEOF (*Stack) + YYSTACK_GAP_MAXIMUM; \
        yyptr += yynewbytes / YYSIZEOF (*yyptr);                        \
      }                                                                 \
    while (0)

#endif

#if defined YYCOPY_NEEDED && YYCOPY_NEEDED
/* Copy COUNT objects from SRC to DST.  The source and destination do
   not overlap.  */
# ifndef YYCOPY
#  if defined __GNUC__ && 1 < __GNUC__
#   define YYCOPY(Dst, Src, Count) \
      __builtin_memcpy (Dst, Src, YY_CAST (YYSIZE_T, (Count)) * sizeof (*(Src)))
#  else
#   define YYCOPY(Dst, Src, Count)              \
      do                                        \
        {                                       \
          YYPTRDIFF_T yyi;                      \
          for (yyi = 0; yyi < (Count); yyi++)   \
            (Dst)[yyi] = (Src)[yyi];            \
        }                                       \
      while (0)
#  endif
# endif
#endif /* !YYCOPY_NEEDED */

/* YYFINAL -- State number of the termination state.  */
#define YYFINAL  2
/* YYLAST -- Last index in YYTABLE.  */
#define YYLAST   193

/* YYNTOKENS -- Number of terminals.  */
#define YYNTOKENS  49
/* YYNNTS -- Number of nonterminals.  */
#define YYNNTS  31
/* YYNRULES -- Number of rules.  */
#define YYNRULES  90
/* YYNSTATES -- Number of states.  */
#define YYNSTATES  165

/* YYMAXUTOK -- Last valid token kind.  */
#define YYMAXUTOK   286


/* YYTRANSLATE(TOKEN-NUM) -- Symbol number corresponding to TOKEN-NUM
   as returned by yylex, with out-of-bounds checking.  */
#define YYTRANSLATE(YYX)                                \
  (0 <= (YYX) && (YYX) <= YYMAXUTOK                     \
   ? YY_CAST (yysymbol_kind_t, yytranslate[YYX])        \
   : YYSYMBOL_YYUNDEF)

/* YYTRANSLATE[TOKEN-NUM] -- Symbol number corresponding to TOKEN-NUM
   as returned by yylex.  */
static const yytype_int8 yytranslate[] =
{
       0,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,    47,     2,     2,
      33,    34,    45,    43,    37,    44,    48,    46,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,    38,     2,
      41,    32,    42,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,    39,     2,    40,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,    35,     2,    36,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     1,     2,     3,     4,
       5,     6,     7,     8,     9,    10,    11,    12,    13,    14,
      15,    16,    17,    18,    19,    20,    21,    22,    23,    24,
      25,    26,    27,    28,    29,    30,    31
};

#if YYDEBUG
/* YYRLINE[YYN] -- Source line where rule number YYN was defined.  */
static const yytype_int16 yyrline[] =
{
       0,   153,   153,   154,   155,   164,   165,   166,   168,   170,
     176,   177,   180,   181,   184,   185,   190,   193,   194,   195,
     207,   208,   210,   212,   213,   215,   217,   218,   219,   223,
     227,   228,   229,   232,   233,   240,   241,   242,   245,   247,
     248,   252,   253,   259,   262,   263,   267,   268,   272,   273,
     279,   280,   284,   285,   286,   287,   288,   289,   292,   293,
     298,   299,   300,   303,   304,   305,   306,   311,   312,   315,
     316,   322,   323,   325,   331,   332,   333,   334,   335,   336,
     337,   338,   339,   340,   341,   346,   347,   350,   351,   354,
     355
};
#endif

/** Accessing symbol of state STATE.  */
#define YY_ACCESSING_SYMBOL(State) YY_CAST (yysymbol_kind_t, yystos[State])

#if 1
/* The user-facing name of the symbol whose (internal) number is
   YYSYMBOL.  No bounds checking.  */
static const char *yysymbol_name (yysymbol_kind_t yysymbol) YY_ATTRIBUTE_UNUSED;

static const char *
yysymbol_name (yysymbol_kind_t yysymbol)
{
  static const char *const yy_sname[] =
  {
  "end of file", "error", "invalid token", "name", "integer", "number",
  "string", "import", "block", "net", "schedule", "stage", "input",
  "output", "return", "for", "in", "step", "if", "else", "scope", "true",
  "false", "and", "or", "not", "**", "==", "!=", "<=", ">=", "..", "'='",
  "'('", "')'", "'{'", "'}'", "','", "':'", "'['", "']'", "'<'", "'>'",
  "'+'", "'-'", "'*'", "'/'", "'%'", "'.'", "$accept", "file", "decl",
  "params_opt", "params", "param", "body", "stmts", "stmt", "if_stmt",
  "else_opt", "target", "items", "item", "exprs", "expr", "or_expr",
  "and_expr", "not_expr", "cmp_expr", "cmp_op", "range_expr", "sum",
  "term", "unary", "power", "postfix", "primary", "args", "arg_list",
  "arg", YY_NULLPTR
  };
  return yy_sname[yysymbol];
}
#endif

#define YYPACT_NINF (-94)

#define yypact_value_is_default(Yyn) \
  ((Yyn) == YYPACT_NINF)

#define YYTABLE_NINF (-1)

#define yytable_value_is_error(Yyn) \
  0

/* YYPACT[STATE-NUM] -- Index in YYTABLE of the portion describing
   STATE-NUM.  */
static const yytype_int16 yypact[] =
{
     -94,   175,   -94,   -94,   -22,    14,    40,    55,    63,   -94,
      74,   -94,    37,    41,    46,    43,   -94,   -94,   -94,   -94,
     -94,    74,    74,     2,   122,   -94,    64,    77,   -94,   -94,
     121,   -30,    -7,   -94,   -94,   119,   -94,    94,    94,   -94,
      50,   -94,    75,    29,   -94,   -94,    68,    73,   -94,   -94,
      74,    74,   -94,   -94,   -94,   -94,   -94,   -94,   122,   122,
     122,   122,   122,   122,   122,   122,    98,   108,    83,    82,
      80,   -94,    87,    15,   -94,    88,   -94,    74,   -94,    98,
      77,   -94,   -94,    42,    -7,    -7,   -94,   -94,   -94,   -94,
      84,   -94,    74,   100,    94,   100,   -94,   135,   143,   -94,
     -94,   -94,   -94,   -94,   -94,   -94,   -94,   -94,   -94,   -94,
      58,   115,   -94,   118,    16,    74,    74,   -94,   -94,   -94,
     151,   156,    74,   161,    74,   162,   -94,   -94,   -94,    25,
     115,   -94,    62,   131,   138,   -94,   155,   100,   -14,    74,
      74,   -94,    74,    74,    74,   153,    74,   -94,   -94,   133,
     -94,   -94,   -13,    -3,   -94,   137,   -94,    74,   -94,   -94,
     -94,   100,   100,   -94,   -94
};

/* YYDEFACT[STATE-NUM] -- Default reduction number in state STATE-NUM.
   Performed when YYTABLE does not specify something else to do.  Zero
   means the default is an error.  */
static const yytype_int8 yydefact[] =
{
       2,     0,     1,     4,     0,     0,     0,     0,     0,     3,
       0,     5,     0,     0,     0,    79,    74,    75,    76,    77,
      78,     0,     0,     0,     0,     6,    43,    44,    46,    48,
      50,    58,    60,    63,    67,    69,    71,    10,    10,    35,
       0,    49,     0,    79,    82,    89,     0,    85,    87,    68,
       0,     0,    52,    53,    55,    57,    54,    56,     0,     0,
       0,     0,     0,     0,     0,     0,     0,     0,    14,     0,
      11,    12,     0,     0,    80,     0,    84,     0,    83,    86,
      45,    47,    51,    59,    61,    62,    64,    65,    66,    70,
       0,    73,     0,     0,     0,     0,    37,     0,     0,     9,
      36,    81,    90,    88,    72,    15,    17,     7,    13,     8,
      79,    39,    41,     0,     0,     0,     0,    35,    19,    33,
       0,     0,     0,     0,     0,     0,    16,    18,    26,     0,
      40,    42,     0,     0,     0,    23,     0,     0,     0,     0,
       0,    38,     0,     0,     0,    30,     0,    27,    20,     0,
      21,    22,     0,     0,    29,     0,    34,     0,    24,    31,
      32,     0,     0,    28,    25
};

/* YYPGOTO[NTERM-NUM].  */
static const yytype_int16 yypgoto[] =
{
     -94,   -94,   -94,   142,   -94,    92,   -93,   -94,   -94,    28,
     -94,   -94,    70,   -94,    76,   -10,   -94,   139,   -18,   -94,
     -94,   130,   134,    32,   -15,   -94,   -94,   -94,   -29,   -94,
     111
};

/* YYDEFGOTO[NTERM-NUM].  */
static const yytype_uint8 yydefgoto[] =
{
       0,     1,     9,    69,    70,    71,   107,   114,   127,   128,
     154,   129,    73,   100,   111,    45,    26,    27,    28,    29,
      58,    30,    31,    32,    33,    34,    35,    36,    46,    47,
      48
};

/* YYTABLE[YYPACT[STATE-NUM]] -- What to do in state STATE-NUM.  If
   positive, shift that token.  If negative, reduce the rule whose
   number is the opposite.  If YYTABLE_NINF, syntax error.  */
static const yytype_uint8 yytable[] =
{
      25,    59,   109,    41,   157,    43,    16,    17,    18,    49,
      10,    75,    42,    60,    61,   124,    96,   118,    97,   119,
      11,   106,   106,    19,    20,   146,    98,    21,   120,   121,
     122,   123,   106,    81,   124,    22,   125,    90,    62,    63,
      64,    23,    44,    12,   145,   147,    24,    86,    87,    88,
      89,    99,   126,    43,    16,    17,    18,   139,    13,   158,
     159,    77,    40,    96,   140,    97,    14,   102,   163,   164,
      37,    19,    20,    98,    38,    21,    40,    15,    16,    17,
      18,    39,   105,    22,    74,    60,    61,   112,    50,    23,
     115,    40,    84,    85,    24,    19,    20,    68,   141,    21,
      51,    43,    16,    17,    18,   112,   131,    22,    78,    76,
      79,    91,   135,    23,   137,    92,    93,    94,    24,    19,
      20,    95,   101,    21,   104,    15,    16,    17,    18,   148,
     149,    22,   150,   151,   152,   106,   155,    23,   110,    16,
      17,    18,    24,    19,    20,    65,   113,   162,    52,    53,
      54,    55,   116,   117,   133,    22,    19,    20,    66,   134,
      21,    23,    56,    57,   136,   138,    24,    67,    22,   142,
     143,   144,   153,   156,    23,     2,     3,   161,     4,    24,
      72,   160,     5,     6,     7,     8,   108,   132,    82,    80,
     103,   130,     0,    83
};

static const yytype_int16 yycheck[] =
{
      10,    31,    95,    21,    17,     3,     4,     5,     6,    24,
      32,    40,    22,    43,    44,    18,     1,     1,     3,     3,
       6,    35,    35,    21,    22,    39,    11,    25,    12,    13,
      14,    15,    35,    51,    18,    33,    20,    66,    45,    46,
      47,    39,    40,     3,   137,   138,    44,    62,    63,    64,
      65,    36,    36,     3,     4,     5,     6,    32,     3,   152,
     153,    32,    33,     1,    39,     3,     3,    77,   161,   162,
      33,    21,    22,    11,    33,    25,    33,     3,     4,     5,
       6,    35,    92,    33,    34,    43,    44,    97,    24,    39,
      32,    33,    60,    61,    44,    21,    22,     3,    36,    25,
      23,     3,     4,     5,     6,   115,   116,    33,    40,    34,
      37,     3,   122,    39,   124,    32,    34,    37,    44,    21,
      22,    34,    34,    25,    40,     3,     4,     5,     6,   139,
     140,    33,   142,   143,   144,    35,   146,    39,     3,     4,
       5,     6,    44,    21,    22,    26,     3,   157,    27,    28,
      29,    30,    37,    35,     3,    33,    21,    22,    39,     3,
      25,    39,    41,    42,     3,     3,    44,    48,    33,    38,
      32,    16,    19,    40,    39,     0,     1,    40,     3,    44,
      38,   153,     7,     8,     9,    10,    94,   117,    58,    50,
      79,   115,    -1,    59
};

/* YYSTOS[STATE-NUM] -- The symbol kind of the accessing symbol of
   state STATE-NUM.  */
static const yytype_int8 yystos[] =
{
       0,    50,     0,     1,     3,     7,     8,     9,    10,    51,
      32,     6,     3,     3,     3,     3,     4,     5,     6,    21,
      22,    25,    33,    39,    44,    64,    65,    66,    67,    68,
      70,    71,    72,    73,    74,    75,    76,    33,    33,    35,
      33,    67,    64,     3,    40,    64,    77,    78,    79,    73,
      24,    23,    27,    28,    29,    30,    41,    42,    69,    31,
      43,    44,    45,    46,    47,    26,    39,    48,     3,    52,
      53,    54,    52,    61,    34,    77,    34,    32,    40,    37,
      66,    67,    70,    71,    72,    72,    73,    73,    73,    73,
      77,     3,    32,    34,    37,    34,     1,     3,    11,    36,
      62,    34,    64,    79,    40,    64,    35,    55,    54,    55,
       3,    63,    64,     3,    56,    32,    37,    35,     1,     3,
      12,    13,    14,    15,    18,    20,    36,    57,    58,    60,
      63,    64,    61,     3,     3,    64,     3,    64,     3,    32,
      39,    36,    38,    32,    16,    55,    39,    55,    64,    64,
      64,    64,    64,    19,    59,    64,    40,    17,    55,    55,
      58,    40,    64,    55,    55
};

/* YYR1[RULE-NUM] -- Symbol kind of the left-hand side of rule RULE-NUM.  */
static const yytype_int8 yyr1[] =
{
       0,    49,    50,    50,    50,    51,    51,    51,    51,    51,
      52,    52,    53,    53,    54,    54,    55,    56,    56,    56,
      57,    57,    57,    57,    57,    57,    57,    57,    57,    58,
      59,    59,    59,    60,    60,    61,    61,    61,    62,    62,
      62,    63,    63,    64,    65,    65,    66,    66,    67,    67,
      68,    68,    69,    69,    69,    69,    69,    69,    70,    70,
      71,    71,    71,    72,    72,    72,    72,    73,    73,    74,
      74,    75,    75,    75,    76,    76,    76,    76,    76,    76,
      76,    76,    76,    76,    76,    77,    77,    78,    78,    79,
      79
};

/* YYR2[RULE-NUM] -- Number of symbols on the right-hand side of rule RULE-NUM.  */
static const yytype_int8 yyr2[] =
{
       0,     2,     0,     2,     2,     2,     3,     6,     6,     5,
       0,     1,     1,     3,     1,     3,     3,     0,     2,     2,
       3,     4,     4,     2,     5,     7,     1,     3,     6,     4,
       0,     2,     2,     1,     4,     0,     2,     2,     5,     2,
       4,     1,     3,     1,     1,     3,     1,     3,     1,     2,
       1,     3,     1,     1,     1,     1,     1,     1,     1,     3,
       1,     3,     3,     1,     3,     3,     3,     1,     2,     1,
       3,     1,     4,     3,     1,     1,     1,     1,     1,     1,
       3,     4,     2,     3,     3,     1,     2,     1,     3,     1,
       3
};


enum { YYENOMEM = -2 };

#define yyerrok         (yyerrstatus = 0)
#define yyclearin       (yychar = TOK_YYEMPTY)

#define YYACCEPT        goto yyacceptlab
#define YYABORT         goto yyabortlab
#define YYERROR         goto yyerrorlab
#define YYNOMEM         goto yyexhaustedlab


#define YYRECOVERING()  (!!yyerrstatus)

#define YYBACKUP(Token, Value)                                    \
  do                                                              \
    if (yychar == TOK_YYEMPTY)                                        \
      {                                                           \
        yychar = (Token);                                         \
        yylval = (Value);                                         \
        YYPOPSTACK (yylen);                                       \
        yystate = *yyssp;                                         \
        YY_LAC_DISCARD ("YYBACKUP");                              \
        goto yybackup;                                            \
      }                                                           \
    else                                                          \
      {                                                           \
        yyerror (&yylloc, scanner, ps, YY_("syntax error: cannot back up")); \
        YYERROR;                                                  \
      }                                                           \
  while (0)

/* Backward compatibility with an undocumented macro.
   Use TOK_YYerror or TOK_YYUNDEF. */
#define YYERRCODE TOK_YYUNDEF

/* YYLLOC_DEFAULT -- Set CURRENT to span from RHS[1] to RHS[N].
   If N is 0, then set CURRENT to the empty location which ends
   the previous symbol: RHS[0] (always defined).  */

#ifndef YYLLOC_DEFAULT
# define YYLLOC_DEFAULT(Current, Rhs, N)                                \
    do                                                                  \
      if (N)                                                            \
        {                                                               \
          (Current).first_line   = YYRHSLOC (Rhs, 1).first_line;        \
          (Current).first_column = YYRHSLOC (Rhs, 1).first_column;      \
          (Current).last_line    = YYRHSLOC (Rhs, N).last_line;         \
          (Current).last_column  = YYRHSLOC (Rhs, N).last_column;       \
        }                                                               \
      else                                                              \
        {                                                               \
          (Current).first_line   = (Current).last_line   =              \
            YYRHSLOC (Rhs, 0).last_line;                                \
          (Current).first_column = (Current).last_column =              \
            YYRHSLOC (Rhs, 0).last_column;                              \
        }                                                               \
    while (0)
#endif

#define YYRHSLOC(Rhs, K) ((Rhs)[K])


/* Enable debugging if requested.  */
#if YYDEBUG

# ifndef YYFPRINTF
#  include <stdio.h> /* INFRINGES ON USER NAME SPACE */
#  define YYFPRINTF fprintf
# endif

# define YYDPRINTF(Args)                        \
do {                                            \
  if (yydebug)                                  \
    YYFPRINTF Args;                             \
} while (0)


/* YYLOCATION_PRINT -- Print the location on the stream.
   This macro was not mandated originally: define only if we know
   we won't break user code: when these are the locations we know.  */

# ifndef YYLOCATION_PRINT

#  if defined YY_LOCATION_PRINT

   /* Temporary convenience wrapper in case some people defined the
      undocumented and private YY_LOCATION_PRINT macros.  */
#   define YYLOCATION_PRINT(File, Loc)  YY_LOCATION_PRINT(File, *(Loc))

#  elif defined YYLTYPE_IS_TRIVIAL && YYLTYPE_IS_TRIVIAL

/* Print *YYLOCP on YYO.  Private, do not rely on its existence. */

YY_ATTRIBUTE_UNUSED
static int
yy_location_print_ (FILE *yyo, YYLTYPE const * const yylocp)
{
  int res = 0;
  int end_col = 0 != yylocp->last_column ? yylocp->last_column - 1 : 0;
  if (0 <= yylocp->first_line)
    {
      res += YYFPRINTF (yyo, "%d", yylocp->first_line);
      if (0 <= yylocp->first_column)
        res += YYFPRINTF (yyo, ".%d", yylocp->first_column);
    }
  if (0 <= yylocp->last_line)
    {
      if (yylocp->first_line < yylocp->last_line)
        {
          res += YYFPRINTF (yyo, "-%d", yylocp->last_line);
          if (0 <= end_col)
            res += YYFPRINTF (yyo, ".%d", end_col);
        }
      else if (0 <= end_col && yylocp->first_column < end_col)
        res += YYFPRINTF (yyo, "-%d", end_col);
    }
  return res;
}

#   define YYLOCATION_PRINT  yy_location_print_

    /* Temporary convenience wrapper in case some people defined the
       undocumented and private YY_LOCATION_PRINT macros.  */
#   define YY_LOCATION_PRINT(File, Loc)  YYLOCATION_PRINT(File, &(Loc))

#  else

#   define YYLOCATION_PRINT(File, Loc) ((void) 0)
    /* Temporary convenience wrapper in case some people defined the
       undocumented and private YY_LOCATION_PRINT macros.  */
#   define YY_LOCATION_PRINT  YYLOCATION_PRINT

#  endif
# endif /* !defined YYLOCATION_PRINT */


# define YY_SYMBOL_PRINT(Title, Kind, Value, Location)                    \
do {                                                                      \
  if (yydebug)                                                            \
    {                                                                     \
      YYFPRINTF (stderr, "%s ", Title);                                   \
      yy_symbol_print (stderr,                                            \
                  Kind, Value, Location, scanner, ps); \
      YYFPRINTF (stderr, "\n");                                           \
    }                                                                     \
} while (0)


/*-----------------------------------.
| Print this symbol's value on YYO.  |
`-----------------------------------*/

static void
yy_symbol_value_print (FILE *yyo,
                       yysymbol_kind_t yykind, YYSTYPE const * const yyvaluep, YYLTYPE const * const yylocationp, yyscan_t scanner, seg_parser *ps)
{
  FILE *yyoutput = yyo;
  YY_USE (yyoutput);
  YY_USE (yylocationp);
  YY_USE (scanner);
  YY_USE (ps);
  if (!yyvaluep)
    return;
  YY_IGNORE_MAYBE_UNINITIALIZED_BEGIN
  YY_USE (yykind);
  YY_IGNORE_MAYBE_UNINITIALIZED_END
}


/*---------------------------.
| Print this symbol on YYO.  |
`---------------------------*/

static void
yy_symbol_print (FILE *yyo,
                 yysymbol_kind_t yykind, YYSTYPE const * const yyvaluep, YYLTYPE const * const yylocationp, yyscan_t scanner, seg_parser *ps)
{
  YYFPRINTF (yyo, "%s %s (",
             yykind < YYNTOKENS ? "token" : "nterm", yysymbol_name (yykind));

  YYLOCATION_PRINT (yyo, yylocationp);
  YYFPRINTF (yyo, ": ");
  yy_symbol_value_print (yyo, yykind, yyvaluep, yylocationp, scanner, ps);
  YYFPRINTF (yyo, ")");
}

/*------------------------------------------------------------------.
| yy_stack_print -- Print the state stack from its BOTTOM up to its |
| TOP (included).                                                   |
`------------------------------------------------------------------*/

static void
yy_stack_print (yy_state_t *yybottom, yy_state_t *yytop)
{
  YYFPRINTF (stderr, "Stack now");
  for (; yybottom <= yytop; yybottom++)
    {
      int yybot = *yybottom;
      YYFPRINTF (stderr, " %d", yybot);
    }
  YYFPRINTF (stderr, "\n");
}

# define YY_STACK_PRINT(Bottom, Top)                            \
do {                                                            \
  if (yydebug)                                                  \
    yy_stack_print ((Bottom), (Top));                           \
} while (0)


/*------------------------------------------------.
| Report that the YYRULE is going to be reduced.  |
`------------------------------------------------*/

static void
yy_reduce_print (yy_state_t *yyssp, YYSTYPE *yyvsp, YYLTYPE *yylsp,
                 int yyrule, yyscan_t scanner, seg_parser *ps)
{
  int yylno = yyrline[yyrule];
  int yynrhs = yyr2[yyrule];
  int yyi;
  YYFPRINTF (stderr, "Reducing stack by rule %d (line %d):\n",
             yyrule - 1, yylno);
  /* The symbols being reduced.  */
  for (yyi = 0; yyi < yynrhs; yyi++)
    {
      YYFPRINTF (stderr, "   $%d = ", yyi + 1);
      yy_symbol_print (stderr,
                       YY_ACCESSING_SYMBOL (+yyssp[yyi + 1 - yynrhs]),
                       &yyvsp[(yyi + 1) - (yynrhs)],
                       &(yylsp[(yyi + 1) - (yynrhs)]), scanner, ps);
      YYFPRINTF (stderr, "\n");
    }
}

# define YY_REDUCE_PRINT(Rule)          \
do {                                    \
  if (yydebug)                          \
    yy_reduce_print (yyssp, yyvsp, yylsp, Rule, scanner, ps); \
} while (0)

/* Nonzero means print parse trace.  It is left uninitialized so that
   multiple parsers can coexist.  */
int yydebug;
#else /* !YYDEBUG */
# define YYDPRINTF(Args) ((void) 0)
# define YY_SYMBOL_PRINT(Title, Kind, Value, Location)
# define YY_STACK_PRINT(Bottom, Top)
# define YY_REDUCE_PRINT(Rule)
#endif /* !YYDEBUG */


/* YYINITDEPTH -- initial size of the parser's stacks.  */
#ifndef YYINITDEPTH
# define YYINITDEPTH 200
#endif

/* YYMAXDEPTH -- maximum size the stacks can grow to (effective only
   if the built-in stack extension method is used).

   Do not make this value too large; the results are undefined if
   YYSTACK_ALLOC_MAXIMUM < YYSTACK_BYTES (YYMAXDEPTH)
   evaluated with infinite-precision integer arithmetic.  */

#ifndef YYMAXDEPTH
# define YYMAXDEPTH 10000
#endif


/* Given a state stack such that *YYBOTTOM is its bottom, such that
   *YYTOP is either its top or is YYTOP_EMPTY to indicate an empty
   stack, and such that *YYCAPACITY is the maximum number of elements it
   can hold without a reallocation, make sure there is enough room to
   store YYADD more elements.  If not, allocate a new stack using
   YYSTACK_ALLOC, copy the existing elements, and adjust *YYBOTTOM,
   *YYTOP, and *YYCAPACITY to reflect the new capacity and memory
   location.  If *YYBOTTOM != YYBOTTOM_NO_FREE, then free the old stack
   using YYSTACK_FREE.  Return 0 if successful or if no reallocation is
   required.  Return YYENOMEM if memory is exhausted.  */
static int
yy_lac_stack_realloc (YYPTRDIFF_T *yycapacity, YYPTRDIFF_T yyadd,
#if YYDEBUG
                      char const *yydebug_prefix,
                      char const *yydebug_suffix,
#endif
                      yy_state_t **yybottom,
                      yy_state_t *yybottom_no_free,
                      yy_state_t **yytop, yy_state_t *yytop_empty)
{
  YYPTRDIFF_T yysize_old =
    *yytop == yytop_empty ? 0 : *yytop - *yybottom + 1;
  YYPTRDIFF_T yysize_new = yysize_old + yyadd;
  if (*yycapacity < yysize_new)
    {
      YYPTRDIFF_T yyalloc = 2 * yysize_new;
      yy_state_t *yybottom_new;
      /* Use YYMAXDEPTH for maximum stack size given that the stack
         should never need to grow larger than the main state stack
         needs to grow without LAC.  */
      if (YYMAXDEPTH < yysize_new)
        {
          YYDPRINTF ((stderr, "%smax size exceeded%s", yydebug_prefix,
                      yydebug_suffix));
          return YYENOMEM;
        }
      if (YYMAXDEPTH < yyalloc)
        yyalloc = YYMAXDEPTH;
      yybottom_new =
        YY_CAST (yy_state_t *,
                 YYSTACK_ALLOC (YY_CAST (YYSIZE_T,
                                         yyalloc * YYSIZEOF (*yybottom_new))));
      if (!yybottom_new)
        {
          YYDPRINTF ((stderr, "%srealloc failed%s", yydebug_prefix,
                      yydebug_suffix));
          return YYENOMEM;
        }
      if (*yytop != yytop_empty)
        {
          YYCOPY (yybottom_new, *yybottom, yysize_old);
          *yytop = yybottom_new + (yysize_old - 1);
        }
      if (*yybottom != yybottom_no_free)
        YYSTACK_FREE (*yybottom);
      *yybottom = yybottom_new;
      *yycapacity = yyalloc;
    }
  return 0;
}

/* Establish the initial context for the current lookahead if no initial
   context is currently established.

   We define a context as a snapshot of the parser stacks.  We define
   the initial context for a lookahead as the context in which the
   parser initially examines that lookahead in order to select a
   syntactic action.  Thus, if the lookahead eventually proves
   syntactically unacceptable (possibly in a later context reached via a
   series of reductions), the initial context can be used to determine
   the exact set of tokens that would be syntactically acceptable in the
   lookahead's place.  Moreover, it is the context after which any
   further semantic actions would be erroneous because they would be
   determined by a syntactically unacceptable token.

   YY_LAC_ESTABLISH should be invoked when a reduction is about to be
   performed in an inconsistent state (which, for the purposes of LAC,
   includes consistent states that don't know they're consistent because
   their default reductions have been disabled).  Iff there is a
   lookahead token, it should also be invoked before reporting a syntax
   error.  This latter case is for the sake of the debugging output.

   For parse.lac=full, the implementation of YY_LAC_ESTABLISH is as
   follows.  If no initial context is currently established for the
   current lookahead, then check if that lookahead can eventually be
   shifted if syntactic actions continue from the current context.
   Report a syntax error if it cannot.  */
#define YY_LAC_ESTABLISH                                                \
do {                                                                    \
  if (!yy_lac_established)                                              \
    {                                                                   \
      YYDPRINTF ((stderr,                                               \
                  "LAC: initial context established for %s\n",          \
                  yysymbol_name (yytoken)));                            \
      yy_lac_established = 1;                                           \
      switch (yy_lac (yyesa, &yyes, &yyes_capacity, yyssp, yytoken))    \
        {                                                               \
        case YYENOMEM:                                                  \
          YYNOMEM;                                                      \
        case 1:                                                         \
          goto yyerrlab;                                                \
        }                                                               \
    }                                                                   \
} while (0)

/* Discard any previous initial lookahead context because of Event,
   which may be a lookahead change or an invalidation of the currently
   established initial context for the current lookahead.

   The most common example of a lookahead change is a shift.  An example
   of both cases is syntax error recovery.  That is, a syntax error
   occurs when the lookahead is syntactically erroneous for the
   currently established initial context, so error recovery manipulates
   the parser stacks to try to find a new initial context in which the
   current lookahead is syntactically acceptable.  If it fails to find
   such a context, it discards the lookahead.  */
#if YYDEBUG
# define YY_LAC_DISCARD(Event)                                           \
do {                                                                     \
  if (yy_lac_established)                                                \
    {                                                                    \
      YYDPRINTF ((stderr, "LAC: initial context discarded due to "       \
                  Event "\n"));                                          \
      yy_lac_established = 0;                                            \
    }                                                                    \
} while (0)
#else
# define YY_LAC_DISCARD(Event) yy_lac_established = 0
#endif

/* Given the stack whose top is *YYSSP, return 0 iff YYTOKEN can
   eventually (after perhaps some reductions) be shifted, return 1 if
   not, or return YYENOMEM if memory is exhausted.  As preconditions and
   postconditions: *YYES_CAPACITY is the allocated size of the array to
   which *YYES points, and either *YYES = YYESA or *YYES points to an
   array allocated with YYSTACK_ALLOC.  yy_lac may overwrite the
   contents of either array, alter *YYES and *YYES_CAPACITY, and free
   any old *YYES other than YYESA.  */
static int
yy_lac (yy_state_t *yyesa, yy_state_t **yyes,
        YYPTRDIFF_T *yyes_capacity, yy_state_t *yyssp, yysymbol_kind_t yytoken)
{
  yy_state_t *yyes_prev = yyssp;
  yy_state_t *yyesp = yyes_prev;
  /* Reduce until we encounter a shift and thereby accept the token.  */
  YYDPRINTF ((stderr, "LAC: checking lookahead %s:", yysymbol_name (yytoken)));
  if (yytoken == YYSYMBOL_YYUNDEF)
    {
      YYDPRINTF ((stderr, " Always Err\n"));
      return 1;
    }
  while (1)
    {
      int yyrule = yypact[+*yyesp];
      if (yypact_value_is_default (yyrule)
          || (yyrule += yytoken) < 0 || YYLAST < yyrule
          || yycheck[yyrule] != yytoken)
        {
          /* Use the default action.  */
          yyrule = yydefact[+*yyesp];
          if (yyrule == 0)
            {
              YYDPRINTF ((stderr, " Err\n"));
              return 1;
            }
        }
      else
        {
          /* Use the action from yytable.  */
          yyrule = yytable[yyrule];
          if (yytable_value_is_error (yyrule))
            {
              YYDPRINTF ((stderr, " Err\n"));
              return 1;
            }
          if (0 < yyrule)
            {
              YYDPRINTF ((stderr, " S%d\n", yyrule));
              return 0;
            }
          yyrule = -yyrule;
        }
      /* By now we know we have to simulate a reduce.  */
      YYDPRINTF ((stderr, " R%d", yyrule - 1));
      {
        /* Pop the corresponding number of values from the stack.  */
        YYPTRDIFF_T yylen = yyr2[yyrule];
        /* First pop from the LAC stack as many tokens as possible.  */
        if (yyesp != yyes_prev)
          {
            YYPTRDIFF_T yysize = yyesp - *yyes + 1;
            if (yylen < yysize)
              {
                yyesp -= yylen;
                yylen = 0;
              }
            else
              {
                yyesp = yyes_prev;
                yylen -= yysize;
              }
          }
        /* Only afterwards look at the main stack.  */
        if (yylen)
          yyesp = yyes_prev -= yylen;
      }
      /* Push the resulting state of the reduction.  */
      {
        yy_state_fast_t yystate;
        {
          const int yylhs = yyr1[yyrule] - YYNTOKENS;
          const int yyi = yypgoto[yylhs] + *yyesp;
          yystate = (0 <= yyi && yyi <= YYLAST && yycheck[yyi] == *yyesp
                     ? yytable[yyi]
                     : yydefgoto[yylhs]);
        }
        if (yyesp == yyes_prev)
          {
            yyesp = *yyes;
            YY_IGNORE_USELESS_CAST_BEGIN
            *yyesp = YY_CAST (yy_state_t, yystate);
            YY_IGNORE_USELESS_CAST_END
          }
        else
          {
            if (yy_lac_stack_realloc (yyes_capacity, 1,
#if YYDEBUG
                                      " (", ")",
#endif
                                      yyes, yyesa, &yyesp, yyes_prev))
              {
                YYDPRINTF ((stderr, "\n"));
                return YYENOMEM;
              }
            YY_IGNORE_USELESS_CAST_BEGIN
            *++yyesp = YY_CAST (yy_state_t, yystate);
            YY_IGNORE_USELESS_CAST_END
          }
        YYDPRINTF ((stderr, " G%d", yystate));
      }
    }
}

/* Context of a parse error.  */
typedef struct
{
  yy_state_t *yyssp;
  yy_state_t *yyesa;
  yy_state_t **yyes;
  YYPTRDIFF_T *yyes_capacity;
  yysymbol_kind_t yytoken;
  YYLTYPE *yylloc;
} yypcontext_t;

/* Put in YYARG at most YYARGN of the expected tokens given the
   current YYCTX, and return the number of tokens stored in YYARG.  If
   YYARG is null, return the number of expected tokens (guaranteed to
   be less than YYNTOKENS).  Return YYENOMEM on memory exhaustion.
   Return 0 if there are more than YYARGN expected tokens, yet fill
   YYARG up to YYARGN. */
static int
yypcontext_expected_tokens (const yypcontext_t *yyctx,
                            yysymbol_kind_t yyarg[], int yyargn)
{
  /* Actual size of YYARG. */
  int yycount = 0;

  int yyx;
  for (yyx = 0; yyx < YYNTOKENS; ++yyx)
    {
      yysymbol_kind_t yysym = YY_CAST (yysymbol_kind_t, yyx);
      if (yysym != YYSYMBOL_YYerror && yysym != YYSYMBOL_YYUNDEF)
        switch (yy_lac (yyctx->yyesa, yyctx->yyes, yyctx->yyes_capacity, yyctx->yyssp, yysym))
          {
          case YYENOMEM:
            return YYENOMEM;
          case 1:
            continue;
          default:
            if (!yyarg)
              ++yycount;
            else if (yycount == yyargn)
              return 0;
            else
              yyarg[yycount++] = yysym;
          }
    }
  if (yyarg && yycount == 0 && 0 < yyargn)
    yyarg[0] = YYSYMBOL_YYEMPTY;
  return yycount;
}




/* The kind of the lookahead of this context.  */
static yysymbol_kind_t
yypcontext_token (const yypcontext_t *yyctx) YY_ATTRIBUTE_UNUSED;

static yysymbol_kind_t
yypcontext_token (const yypcontext_t *yyctx)
{
  return yyctx->yytoken;
}

/* The location of the lookahead of this context.  */
static YYLTYPE *
yypcontext_location (const yypcontext_t *yyctx) YY_ATTRIBUTE_UNUSED;

static YYLTYPE *
yypcontext_location (const yypcontext_t *yyctx)
{
  return yyctx->yylloc;
}

/* User defined function to report a syntax error.  */
static int
yyreport_syntax_error (const yypcontext_t *yyctx, yyscan_t scanner, seg_parser *ps);

/*-----------------------------------------------.
| Release the memory associated to this symbol.  |
`-----------------------------------------------*/

static void
yydestruct (const char *yymsg,
            yysymbol_kind_t yykind, YYSTYPE *yyvaluep, YYLTYPE *yylocationp, yyscan_t scanner, seg_parser *ps)
{
  YY_USE (yyvaluep);
  YY_USE (yylocationp);
  YY_USE (scanner);
  YY_USE (ps);
  if (!yymsg)
    yymsg = "Deleting";
  YY_SYMBOL_PRINT (yymsg, yykind, yyvaluep, yylocationp);

  YY_IGNORE_MAYBE_UNINITIALIZED_BEGIN
  YY_USE (yykind);
  YY_IGNORE_MAYBE_UNINITIALIZED_END
}






/*----------.
| yyparse.  |
`----------*/

int
yyparse (yyscan_t scanner, seg_parser *ps)
{
/* Lookahead token kind.  */
int yychar;


/* The semantic value of the lookahead symbol.  */
/* Default value used for initialization, for pacifying older GCCs
   or non-GCC compilers.  */
YY_INITIAL_VALUE (static YYSTYPE yyval_default;)
YYSTYPE yylval YY_INITIAL_VALUE (= yyval_default);

/* Location data for the lookahead symbol.  */
static YYLTYPE yyloc_default
# if defined YYLTYPE_IS_TRIVIAL && YYLTYPE_IS_TRIVIAL
  = { 1, 1, 1, 1 }
# endif
;
YYLTYPE yylloc = yyloc_default;

    /* Number of syntax errors so far.  */
    int yynerrs = 0;

    yy_state_fast_t yystate = 0;
    /* Number of tokens to shift before error messages enabled.  */
    int yyerrstatus = 0;

    /* Refer to the stacks through separate pointers, to allow yyoverflow
       to reallocate them elsewhere.  */

    /* Their size.  */
    YYPTRDIFF_T yystacksize = YYINITDEPTH;

    /* The state stack: array, bottom, top.  */
    yy_state_t yyssa[YYINITDEPTH];
    yy_state_t *yyss = yyssa;
    yy_state_t *yyssp = yyss;

    /* The semantic value stack: array, bottom, top.  */
    YYSTYPE yyvsa[YYINITDEPTH];
    YYSTYPE *yyvs = yyvsa;
    YYSTYPE *yyvsp = yyvs;

    /* The location stack: array, bottom, top.  */
    YYLTYPE yylsa[YYINITDEPTH];
    YYLTYPE *yyls = yylsa;
    YYLTYPE *yylsp = yyls;

    yy_state_t yyesa[20];
    yy_state_t *yyes = yyesa;
    YYPTRDIFF_T yyes_capacity = 20 < YYMAXDEPTH ? 20 : YYMAXDEPTH;

  /* Whether LAC context is established.  A Boolean.  */
  int yy_lac_established = 0;
  int yyn;
  /* The return value of yyparse.  */
  int yyresult;
  /* Lookahead symbol kind.  */
  yysymbol_kind_t yytoken = YYSYMBOL_YYEMPTY;
  /* The variables used to return semantic value and location from the
     action routines.  */
  YYSTYPE yyval;
  YYLTYPE yyloc;

  /* The locations where the error started and ended.  */
  YYLTYPE yyerror_range[3];



#define YYPOPSTACK(N)   (yyvsp -= (N), yyssp -= (N), yylsp -= (N))

  /* The number of symbols on the RHS of the reduced rule.
     Keep to zero when no symbol should be popped.  */
  int yylen = 0;

  YYDPRINTF ((stderr, "Starting parse\n"));

  yychar = TOK_YYEMPTY; /* Cause a token to be read.  */


/* User initialization code.  */
#line 113 "lang/parser.y"
{
    yylloc = (seg_span){ps->file_id, 1, 1, 1, 0};
}

#line 1556 "build-debug/gen/parser.c"

  yylsp[0] = yylloc;
  goto yysetstate;


/*------------------------------------------------------------.
| yynewstate -- push a new state, which is found in yystate.  |
`------------------------------------------------------------*/
yynewstate:
  /* In all cases, when you get here, the value and location stacks
     have just been pushed.  So pushing a state here evens the stacks.  */
  yyssp++;


/*--------------------------------------------------------------------.
| yysetstate -- set current state (the top of the stack) to yystate.  |
`--------------------------------------------------------------------*/
yysetstate:
  YYDPRINTF ((stderr, "Entering state %d\n", yystate));
  YY_ASSERT (0 <= yystate && yystate < YYNSTATES);
  YY_IGNORE_USELESS_CAST_BEGIN
  *yyssp = YY_CAST (yy_state_t, yystate);
  YY_IGNORE_USELESS_CAST_END
  YY_STACK_PRINT (yyss, yyssp);

  if (yyss + yystacksize - 1 <= yyssp)
#if !defined yyoverflow && !defined YYSTACK_RELOCATE
    YYNOMEM;
#else
    {
      /* Get the current used size of the three stacks, in elements.  */
      YYPTRDIFF_T yysize = yyssp - yyss + 1;

# if defined yyoverflow
      {
        /* Give user a chance to reallocate the stack.  Use copies of
           these so that the &'s don't force the real ones into
           memory.  */
        yy_state_t *yyss1 = yyss;
        YYSTYPE *yyvs1 = yyvs;
        YYLTYPE *yyls1 = yyls;

        /* Each stack pointer address is followed by the size of the
           data in use in that stack, in bytes.  This used to be a
           conditional around just the two extra args, but that might
           be undefined if yyoverflow is a macro.  */
        yyoverflow (YY_("memory exhausted"),
                    &yyss1, yysize * YYSIZEOF (*yyssp),
                    &yyvs1, yysize * YYSIZEOF (*yyvsp),
                    &yyls1, yysize * YYSIZEOF (*yylsp),
                    &yystacksize);
        yyss = yyss1;
        yyvs = yyvs1;
        yyls = yyls1;
      }
# else /* defined YYSTACK_RELOCATE */
      /* Extend the stack our own way.  */
      if (YYMAXDEPTH <= yystacksize)
        YYNOMEM;
      yystacksize *= 2;
      if (YYMAXDEPTH < yystacksize)
        yystacksize = YYMAXDEPTH;

      {
        yy_state_t *yyss1 = yyss;
        union yyalloc *yyptr =
          YY_CAST (union yyalloc *,
                   YYSTACK_ALLOC (YY_CAST (YYSIZE_T, YYSTACK_BYTES (yystacksize))));
        if (! yyptr)
          YYNOMEM;
        YYSTACK_RELOCATE (yyss_alloc, yyss);
        YYSTACK_RELOCATE (yyvs_alloc, yyvs);
        YYSTACK_RELOCATE (yyls_alloc, yyls);
#  undef YYSTACK_RELOCATE
        if (yyss1 != yyssa)
          YYSTACK_FREE (yyss1);
      }
# endif

      yyssp = yyss + yysize - 1;
      yyvsp = yyvs + yysize - 1;
      yylsp = yyls + yysize - 1;

      YY_IGNORE_USELESS_CAST_BEGIN
      YYDPRINTF ((stderr, "Stack size increased to %ld\n",
                  YY_CAST (long, yystacksize)));
      YY_IGNORE_USELESS_CAST_END

      if (yyss + yystacksize - 1 <= yyssp)
        YYABORT;
    }
#endif /* !defined yyoverflow && !defined YYSTACK_RELOCATE */


  if (yystate == YYFINAL)
    YYACCEPT;

  goto yybackup;


/*-----------.
| yybackup.  |
`-----------*/
yybackup:
  /* Do appropriate processing given the current state.  Read a
     lookahead token if we need one and don't already have one.  */

  /* First try to decide what to do without reference to lookahead token.  */
  yyn = yypact[yystate];
  if (yypact_value_is_default (yyn))
    goto yydefault;

  /* Not known => get a lookahead token if don't already have one.  */

  /* YYCHAR is either empty, or end-of-input, or a valid lookahead.  */
  if (yychar == TOK_YYEMPTY)
    {
      YYDPRINTF ((stderr, "Reading a token\n"));
      yychar = yylex (&yylval, &yylloc, scanner);
    }

  if (yychar <= TOK_YYEOF)
    {
      yychar = TOK_YYEOF;
      yytoken = YYSYMBOL_YYEOF;
      YYDPRINTF ((stderr, "Now at end of input.\n"));
    }
  else if (yychar == TOK_YYerror)
    {
      /* The scanner already issued an error message, process directly
         to error recovery.  But do not keep the error token as
         lookahead, it is too special and may lead us to an endless
         loop in error recovery. */
      yychar = TOK_YYUNDEF;
      yytoken = YYSYMBOL_YYerror;
      yyerror_range[1] = yylloc;
      goto yyerrlab1;
    }
  else
    {
      yytoken = YYTRANSLATE (yychar);
      YY_SYMBOL_PRINT ("Next token is", yytoken, &yylval, &yylloc);
    }

  /* If the proper action on seeing token YYTOKEN is to reduce or to
     detect an error, take that action.  */
  yyn += yytoken;
  if (yyn < 0 || YYLAST < yyn || yycheck[yyn] != yytoken)
    {
      YY_LAC_ESTABLISH;
      goto yydefault;
    }
  yyn = yytable[yyn];
  if (yyn <= 0)
    {
      if (yytable_value_is_error (yyn))
        goto yyerrlab;
      yyn = -yyn;
      YY_LAC_ESTABLISH;
      goto yyreduce;
    }

  /* Count tokens shifted since error; after three, turn off error
     status.  */
  if (yyerrstatus)
    yyerrstatus--;

  /* Shift the lookahead token.  */
  YY_SYMBOL_PRINT ("Shifting", yytoken, &yylval, &yylloc);
  yystate = yyn;
  YY_IGNORE_MAYBE_UNINITIALIZED_BEGIN
  *++yyvsp = yylval;
  YY_IGNORE_MAYBE_UNINITIALIZED_END
  *++yylsp = yylloc;

  /* Discard the shifted token.  */
  yychar = TOK_YYEMPTY;
  YY_LAC_DISCARD ("shift");
  goto yynewstate;


/*-----------------------------------------------------------.
| yydefault -- do the default action for the current state.  |
`-----------------------------------------------------------*/
yydefault:
  yyn = yydefact[yystate];
  if (yyn == 0)
    goto yyerrlab;
  goto yyreduce;


/*-----------------------------.
| yyreduce -- do a reduction.  |
`-----------------------------*/
yyreduce:
  /* yyn is the number of a rule to reduce with.  */
  yylen = yyr2[yyn];

  /* If YYLEN is nonzero, implement the default value of the action:
     '$$ = $1'.

     Otherwise, the following line sets YYVAL to garbage.
     This behavior is undocumented and Bison
     users should not rely upon it.  Assigning to YYVAL
     unconditionally makes the parser a bit smaller, and it avoids a
     GCC warning that YYVAL may be used uninitialized.  */
  yyval = yyvsp[1-yylen];

  /* Default location. */
  YYLLOC_DEFAULT (yyloc, (yylsp - yylen), yylen);
  yyerror_range[1] = yyloc;
  YY_REDUCE_PRINT (yyn);
  {
    int yychar_backup = yychar;
    switch (yyn)
      {
  case 4: /* file: file error  */
#line 155 "lang/parser.y"
                 { SEG_RECOVER(0); }
#line 1776 "build-debug/gen/parser.c"
    break;

  case 5: /* decl: "import" "string"  */
#line 164 "lang/parser.y"
                       { ast_import_add(ps, (yyloc), (yyvsp[0].sval), (yylsp[0])); }
#line 1782 "build-debug/gen/parser.c"
    break;

  case 6: /* decl: "name" '=' expr  */
#line 165 "lang/parser.y"
                       { ast_const_add(ps, (yyloc), (yyvsp[-2].sval), (yylsp[-2]), (yyvsp[0].expr)); }
#line 1788 "build-debug/gen/parser.c"
    break;

  case 7: /* decl: "block" "name" '(' params_opt ')' body  */
#line 167 "lang/parser.y"
                       { ast_block_add(ps, AST_BLOCK, (yyloc), (yyvsp[-4].sval), (yylsp[-4]), (yyvsp[-2].params), (yyvsp[0].stmts)); }
#line 1794 "build-debug/gen/parser.c"
    break;

  case 8: /* decl: "net" "name" '(' params_opt ')' body  */
#line 169 "lang/parser.y"
                       { ast_block_add(ps, AST_NET, (yyloc), (yyvsp[-4].sval), (yylsp[-4]), (yyvsp[-2].params), (yyvsp[0].stmts)); }
#line 1800 "build-debug/gen/parser.c"
    break;

  case 9: /* decl: "schedule" "name" '{' items '}'  */
#line 171 "lang/parser.y"
                       { ast_schedule_add(ps, (yyloc), (yyvsp[-3].sval), (yylsp[-3]), (yyvsp[-1].stmts)); }
#line 1806 "build-debug/gen/parser.c"
    break;

  case 10: /* params_opt: %empty  */
#line 176 "lang/parser.y"
                        { (yyval.params) = (ast_param_seq){0}; }
#line 1812 "build-debug/gen/parser.c"
    break;

  case 12: /* params: param  */
#line 180 "lang/parser.y"
                        { (yyval.params) = ast_param_seq_add((ast_param_seq){0}, (yyvsp[0].param)); }
#line 1818 "build-debug/gen/parser.c"
    break;

  case 13: /* params: params ',' param  */
#line 181 "lang/parser.y"
                        { (yyval.params) = ast_param_seq_add((yyvsp[-2].params), (yyvsp[0].param)); }
#line 1824 "build-debug/gen/parser.c"
    break;

  case 14: /* param: "name"  */
#line 184 "lang/parser.y"
                        { (yyval.param) = ast_param_new(ps->arena, (yyloc), (yyvsp[0].sval), NULL); }
#line 1830 "build-debug/gen/parser.c"
    break;

  case 15: /* param: "name" '=' expr  */
#line 185 "lang/parser.y"
                        { (yyval.param) = ast_param_new(ps->arena, (yyloc), (yyvsp[-2].sval), (yyvsp[0].expr)); }
#line 1836 "build-debug/gen/parser.c"
    break;

  case 16: /* body: '{' stmts '}'  */
#line 190 "lang/parser.y"
                        { (yyval.stmts) = (yyvsp[-1].stmts); }
#line 1842 "build-debug/gen/parser.c"
    break;

  case 17: /* stmts: %empty  */
#line 193 "lang/parser.y"
                        { (yyval.stmts) = (ast_stmt_seq){0}; }
#line 1848 "build-debug/gen/parser.c"
    break;

  case 18: /* stmts: stmts stmt  */
#line 194 "lang/parser.y"
                        { (yyval.stmts) = ast_stmt_seq_add((yyvsp[-1].stmts), (yyvsp[0].stmt)); }
#line 1854 "build-debug/gen/parser.c"
    break;

  case 19: /* stmts: stmts error  */
#line 195 "lang/parser.y"
                        { SEG_RECOVER(1); }
#line 1860 "build-debug/gen/parser.c"
    break;

  case 20: /* stmt: target '=' expr  */
#line 207 "lang/parser.y"
                        { (yyval.stmt) = ast_assign_new(ps->arena, (yyloc), (yyvsp[-2].expr), (yyvsp[0].expr)); }
#line 1866 "build-debug/gen/parser.c"
    break;

  case 21: /* stmt: "input" "name" ':' expr  */
#line 209 "lang/parser.y"
                        { (yyval.stmt) = ast_input_new(ps->arena, (yyloc), (yyvsp[-2].sval), (yylsp[-2]), (yyvsp[0].expr)); }
#line 1872 "build-debug/gen/parser.c"
    break;

  case 22: /* stmt: "output" "name" '=' expr  */
#line 211 "lang/parser.y"
                        { (yyval.stmt) = ast_output_new(ps->arena, (yyloc), (yyvsp[-2].sval), (yylsp[-2]), (yyvsp[0].expr)); }
#line 1878 "build-debug/gen/parser.c"
    break;

  case 23: /* stmt: "return" expr  */
#line 212 "lang/parser.y"
                        { (yyval.stmt) = ast_return_new(ps->arena, (yyloc), (yyvsp[0].expr)); }
#line 1884 "build-debug/gen/parser.c"
    break;

  case 24: /* stmt: "for" "name" "in" expr body  */
#line 214 "lang/parser.y"
                        { (yyval.stmt) = ast_for_new(ps->arena, (yyloc), (yyvsp[-3].sval), (yylsp[-3]), (yyvsp[-1].expr), NULL, (yyvsp[0].stmts)); }
#line 1890 "build-debug/gen/parser.c"
    break;

  case 25: /* stmt: "for" "name" "in" expr "step" expr body  */
#line 216 "lang/parser.y"
                        { (yyval.stmt) = ast_for_new(ps->arena, (yyloc), (yyvsp[-5].sval), (yylsp[-5]), (yyvsp[-3].expr), (yyvsp[-1].expr), (yyvsp[0].stmts)); }
#line 1896 "build-debug/gen/parser.c"
    break;

  case 27: /* stmt: "scope" "name" body  */
#line 218 "lang/parser.y"
                        { (yyval.stmt) = ast_scope_new(ps->arena, (yyloc), (yyvsp[-1].sval), (yylsp[-1]), NULL, (yyvsp[0].stmts)); }
#line 1902 "build-debug/gen/parser.c"
    break;

  case 28: /* stmt: "scope" "name" '[' expr ']' body  */
#line 220 "lang/parser.y"
                        { (yyval.stmt) = ast_scope_new(ps->arena, (yyloc), (yyvsp[-4].sval), (yylsp[-4]), (yyvsp[-2].expr), (yyvsp[0].stmts)); }
#line 1908 "build-debug/gen/parser.c"
    break;

  case 29: /* if_stmt: "if" expr body else_opt  */
#line 224 "lang/parser.y"
                        { (yyval.stmt) = ast_if_new(ps->arena, (yyloc), (yyvsp[-2].expr), (yyvsp[-1].stmts), (yyvsp[0].stmts)); }
#line 1914 "build-debug/gen/parser.c"
    break;

  case 30: /* else_opt: %empty  */
#line 227 "lang/parser.y"
                        { (yyval.stmts) = (ast_stmt_seq){0}; }
#line 1920 "build-debug/gen/parser.c"
    break;

  case 31: /* else_opt: "else" body  */
#line 228 "lang/parser.y"
                        { (yyval.stmts) = (yyvsp[0].stmts); }
#line 1926 "build-debug/gen/parser.c"
    break;

  case 32: /* else_opt: "else" if_stmt  */
#line 229 "lang/parser.y"
                        { (yyval.stmts) = ast_stmt_seq_add((ast_stmt_seq){0}, (yyvsp[0].stmt)); }
#line 1932 "build-debug/gen/parser.c"
    break;

  case 33: /* target: "name"  */
#line 232 "lang/parser.y"
                        { (yyval.expr) = ast_name_new(ps->arena, (yyloc), (yyvsp[0].sval)); }
#line 1938 "build-debug/gen/parser.c"
    break;

  case 34: /* target: target '[' expr ']'  */
#line 234 "lang/parser.y"
                        { (yyval.expr) = ast_index1_new(ps->arena, (yyloc), (yyvsp[-3].expr), (yyvsp[-1].expr)); }
#line 1944 "build-debug/gen/parser.c"
    break;

  case 35: /* items: %empty  */
#line 240 "lang/parser.y"
                        { (yyval.stmts) = (ast_stmt_seq){0}; }
#line 1950 "build-debug/gen/parser.c"
    break;

  case 36: /* items: items item  */
#line 241 "lang/parser.y"
                        { (yyval.stmts) = ast_stmt_seq_add((yyvsp[-1].stmts), (yyvsp[0].stmt)); }
#line 1956 "build-debug/gen/parser.c"
    break;

  case 37: /* items: items error  */
#line 242 "lang/parser.y"
                        { SEG_RECOVER(1); }
#line 1962 "build-debug/gen/parser.c"
    break;

  case 38: /* item: "stage" "name" '{' items '}'  */
#line 246 "lang/parser.y"
                        { (yyval.stmt) = ast_stage_new(ps->arena, (yyloc), (yyvsp[-3].sval), (yylsp[-3]), (yyvsp[-1].stmts)); }
#line 1968 "build-debug/gen/parser.c"
    break;

  case 39: /* item: "name" exprs  */
#line 247 "lang/parser.y"
                        { (yyval.stmt) = ast_item_new(ps->arena, (yyloc), (yyvsp[-1].sval), NULL, (yylsp[-1]), (yyvsp[0].exprs)); }
#line 1974 "build-debug/gen/parser.c"
    break;

  case 40: /* item: "name" "name" '=' exprs  */
#line 249 "lang/parser.y"
                        { (yyval.stmt) = ast_item_new(ps->arena, (yyloc), (yyvsp[-3].sval), (yyvsp[-2].sval), (yylsp[-2]), (yyvsp[0].exprs)); }
#line 1980 "build-debug/gen/parser.c"
    break;

  case 41: /* exprs: expr  */
#line 252 "lang/parser.y"
                        { (yyval.exprs) = ast_expr_seq_add((ast_expr_seq){0}, (yyvsp[0].expr)); }
#line 1986 "build-debug/gen/parser.c"
    break;

  case 42: /* exprs: exprs ',' expr  */
#line 253 "lang/parser.y"
                        { (yyval.exprs) = ast_expr_seq_add((yyvsp[-2].exprs), (yyvsp[0].expr)); }
#line 1992 "build-debug/gen/parser.c"
    break;

  case 45: /* or_expr: or_expr "or" and_expr  */
#line 264 "lang/parser.y"
                        { (yyval.expr) = ast_binary_new(ps->arena, (yyloc), AST_OP_OR, (yyvsp[-2].expr), (yyvsp[0].expr)); }
#line 1998 "build-debug/gen/parser.c"
    break;

  case 47: /* and_expr: and_expr "and" not_expr  */
#line 269 "lang/parser.y"
                        { (yyval.expr) = ast_binary_new(ps->arena, (yyloc), AST_OP_AND, (yyvsp[-2].expr), (yyvsp[0].expr)); }
#line 2004 "build-debug/gen/parser.c"
    break;

  case 49: /* not_expr: "not" not_expr  */
#line 273 "lang/parser.y"
                        { (yyval.expr) = ast_unary_new(ps->arena, (yyloc), AST_OP_NOT, (yyvsp[0].expr)); }
#line 2010 "build-debug/gen/parser.c"
    break;

  case 51: /* cmp_expr: range_expr cmp_op range_expr  */
#line 281 "lang/parser.y"
                        { (yyval.expr) = ast_binary_new(ps->arena, (yyloc), (yyvsp[-1].op), (yyvsp[-2].expr), (yyvsp[0].expr)); }
#line 2016 "build-debug/gen/parser.c"
    break;

  case 52: /* cmp_op: "=="  */
#line 284 "lang/parser.y"
                        { (yyval.op) = AST_OP_EQ; }
#line 2022 "build-debug/gen/parser.c"
    break;

  case 53: /* cmp_op: "!="  */
#line 285 "lang/parser.y"
                        { (yyval.op) = AST_OP_NE; }
#line 2028 "build-debug/gen/parser.c"
    break;

  case 54: /* cmp_op: '<'  */
#line 286 "lang/parser.y"
                        { (yyval.op) = AST_OP_LT; }
#line 2034 "build-debug/gen/parser.c"
    break;

  case 55: /* cmp_op: "<="  */
#line 287 "lang/parser.y"
                        { (yyval.op) = AST_OP_LE; }
#line 2040 "build-debug/gen/parser.c"
    break;

  case 56: /* cmp_op: '>'  */
#line 288 "lang/parser.y"
                        { (yyval.op) = AST_OP_GT; }
#line 2046 "build-debug/gen/parser.c"
    break;

  case 57: /* cmp_op: ">="  */
#line 289 "lang/parser.y"
                        { (yyval.op) = AST_OP_GE; }
#line 2052 "build-debug/gen/parser.c"
    break;

  case 59: /* range_expr: sum ".." sum  */
#line 293 "lang/parser.y"
                        { (yyval.expr) = ast_range_new(ps->arena, (yyloc), (yyvsp[-2].expr), (yyvsp[0].expr)); }
#line 2058 "build-debug/gen/parser.c"
    break;

  case 61: /* sum: sum '+' term  */
#line 299 "lang/parser.y"
                        { (yyval.expr) = ast_binary_new(ps->arena, (yyloc), AST_OP_ADD, (yyvsp[-2].expr), (yyvsp[0].expr)); }
#line 2064 "build-debug/gen/parser.c"
    break;

  case 62: /* sum: sum '-' term  */
#line 300 "lang/parser.y"
                        { (yyval.expr) = ast_binary_new(ps->arena, (yyloc), AST_OP_SUB, (yyvsp[-2].expr), (yyvsp[0].expr)); }
#line 2070 "build-debug/gen/parser.c"
    break;

  case 64: /* term: term '*' unary  */
#line 304 "lang/parser.y"
                        { (yyval.expr) = ast_binary_new(ps->arena, (yyloc), AST_OP_MUL, (yyvsp[-2].expr), (yyvsp[0].expr)); }
#line 2076 "build-debug/gen/parser.c"
    break;

  case 65: /* term: term '/' unary  */
#line 305 "lang/parser.y"
                        { (yyval.expr) = ast_binary_new(ps->arena, (yyloc), AST_OP_DIV, (yyvsp[-2].expr), (yyvsp[0].expr)); }
#line 2082 "build-debug/gen/parser.c"
    break;

  case 66: /* term: term '%' unary  */
#line 306 "lang/parser.y"
                        { (yyval.expr) = ast_binary_new(ps->arena, (yyloc), AST_OP_MOD, (yyvsp[-2].expr), (yyvsp[0].expr)); }
#line 2088 "build-debug/gen/parser.c"
    break;

  case 68: /* unary: '-' unary  */
#line 312 "lang/parser.y"
                        { (yyval.expr) = ast_unary_new(ps->arena, (yyloc), AST_OP_NEG, (yyvsp[0].expr)); }
#line 2094 "build-debug/gen/parser.c"
    break;

  case 70: /* power: postfix "**" unary  */
#line 317 "lang/parser.y"
                        { (yyval.expr) = ast_binary_new(ps->arena, (yyloc), AST_OP_POW, (yyvsp[-2].expr), (yyvsp[0].expr)); }
#line 2100 "build-debug/gen/parser.c"
    break;

  case 72: /* postfix: postfix '[' args ']'  */
#line 324 "lang/parser.y"
                        { (yyval.expr) = ast_index_new(ps->arena, (yyloc), (yyvsp[-3].expr), (yyvsp[-1].exprs)); }
#line 2106 "build-debug/gen/parser.c"
    break;

  case 73: /* postfix: postfix '.' "name"  */
#line 325 "lang/parser.y"
                        { (yyval.expr) = ast_member_new(ps->arena, (yyloc), (yyvsp[-2].expr), (yyvsp[0].sval)); }
#line 2112 "build-debug/gen/parser.c"
    break;

  case 74: /* primary: "integer"  */
#line 331 "lang/parser.y"
                        { (yyval.expr) = ast_int_new(ps->arena, (yyloc), (yyvsp[0].ival)); }
#line 2118 "build-debug/gen/parser.c"
    break;

  case 75: /* primary: "number"  */
#line 332 "lang/parser.y"
                        { (yyval.expr) = ast_float_new(ps->arena, (yyloc), (yyvsp[0].fval)); }
#line 2124 "build-debug/gen/parser.c"
    break;

  case 76: /* primary: "string"  */
#line 333 "lang/parser.y"
                        { (yyval.expr) = ast_string_new(ps->arena, (yyloc), (yyvsp[0].sval)); }
#line 2130 "build-debug/gen/parser.c"
    break;

  case 77: /* primary: "true"  */
#line 334 "lang/parser.y"
                        { (yyval.expr) = ast_bool_new(ps->arena, (yyloc), 1); }
#line 2136 "build-debug/gen/parser.c"
    break;

  case 78: /* primary: "false"  */
#line 335 "lang/parser.y"
                        { (yyval.expr) = ast_bool_new(ps->arena, (yyloc), 0); }
#line 2142 "build-debug/gen/parser.c"
    break;

  case 79: /* primary: "name"  */
#line 336 "lang/parser.y"
                        { (yyval.expr) = ast_name_new(ps->arena, (yyloc), (yyvsp[0].sval)); }
#line 2148 "build-debug/gen/parser.c"
    break;

  case 80: /* primary: "name" '(' ')'  */
#line 337 "lang/parser.y"
                        { (yyval.expr) = ast_call_new(ps->arena, (yyloc), (yyvsp[-2].sval), (ast_expr_seq){0}); }
#line 2154 "build-debug/gen/parser.c"
    break;

  case 81: /* primary: "name" '(' args ')'  */
#line 338 "lang/parser.y"
                        { (yyval.expr) = ast_call_new(ps->arena, (yyloc), (yyvsp[-3].sval), (yyvsp[-1].exprs)); }
#line 2160 "build-debug/gen/parser.c"
    break;

  case 82: /* primary: '[' ']'  */
#line 339 "lang/parser.y"
                        { (yyval.expr) = ast_list_new(ps->arena, (yyloc), (ast_expr_seq){0}); }
#line 2166 "build-debug/gen/parser.c"
    break;

  case 83: /* primary: '[' args ']'  */
#line 340 "lang/parser.y"
                        { (yyval.expr) = ast_list_new(ps->arena, (yyloc), (yyvsp[-1].exprs)); }
#line 2172 "build-debug/gen/parser.c"
    break;

  case 84: /* primary: '(' expr ')'  */
#line 341 "lang/parser.y"
                        { (yyval.expr) = (yyvsp[-1].expr); }
#line 2178 "build-debug/gen/parser.c"
    break;

  case 87: /* arg_list: arg  */
#line 350 "lang/parser.y"
                        { (yyval.exprs) = ast_expr_seq_add((ast_expr_seq){0}, (yyvsp[0].expr)); }
#line 2184 "build-debug/gen/parser.c"
    break;

  case 88: /* arg_list: arg_list ',' arg  */
#line 351 "lang/parser.y"
                        { (yyval.exprs) = ast_expr_seq_add((yyvsp[-2].exprs), (yyvsp[0].expr)); }
#line 2190 "build-debug/gen/parser.c"
    break;

  case 90: /* arg: "name" '=' expr  */
#line 355 "lang/parser.y"
                        { (yyval.expr) = ast_kwarg((yyloc), (yyvsp[-2].sval), (yyvsp[0].expr)); }
#line 2196 "build-debug/gen/parser.c"
    break;


#line 2200 "build-debug/gen/parser.c"

        default: break;
      }
    if (yychar_backup != yychar)
      YY_LAC_DISCARD ("yychar change");
  }
  /* User semantic actions sometimes alter yychar, and that requires
     that yytoken be updated with the new translation.  We take the
     approach of translating immediately before every use of yytoken.
     One alternative is translating here after every semantic action,
     but that translation would be missed if the semantic action invokes
     YYABORT, YYACCEPT, or YYERROR immediately after altering yychar or
     if it invokes YYBACKUP.  In the case of YYABORT or YYACCEPT, an
     incorrect destructor might then be invoked immediately.  In the
     case of YYERROR or YYBACKUP, subsequent parser actions might lead
     to an incorrect destructor call or verbose syntax error message
     before the lookahead is translated.  */
  YY_SYMBOL_PRINT ("-> $$ =", YY_CAST (yysymbol_kind_t, yyr1[yyn]), &yyval, &yyloc);

  YYPOPSTACK (yylen);
  yylen = 0;

  *++yyvsp = yyval;
  *++yylsp = yyloc;

  /* Now 'shift' the result of the reduction.  Determine what state
     that goes to, based on the state we popped back to and the rule
     number reduced by.  */
  {
    const int yylhs = yyr1[yyn] - YYNTOKENS;
    const int yyi = yypgoto[yylhs] + *yyssp;
    yystate = (0 <= yyi && yyi <= YYLAST && yycheck[yyi] == *yyssp
               ? yytable[yyi]
               : yydefgoto[yylhs]);
  }

  goto yynewstate;


/*--------------------------------------.
| yyerrlab -- here on detecting error.  |
`--------------------------------------*/
yyerrlab:
  /* Make sure we have latest lookahead translation.  See comments at
     user semantic actions for why this is necessary.  */
  yytoken = yychar == TOK_YYEMPTY ? YYSYMBOL_YYEMPTY : YYTRANSLATE (yychar);
  /* If not already recovering from an error, report this error.  */
  if (!yyerrstatus)
    {
      ++yynerrs;
      {
        yypcontext_t yyctx
          = {yyssp, yyesa, &yyes, &yyes_capacity, yytoken, &yylloc};
        if (yychar != TOK_YYEMPTY)
          YY_LAC_ESTABLISH;
        if (yyreport_syntax_error (&yyctx, scanner, ps) == 2)
          YYNOMEM;
      }
    }

  yyerror_range[1] = yylloc;
  if (yyerrstatus == 3)
    {
      /* If just tried and failed to reuse lookahead token after an
         error, discard it.  */

      if (yychar <= TOK_YYEOF)
        {
          /* Return failure if at end of input.  */
          if (yychar == TOK_YYEOF)
            YYABORT;
        }
      else
        {
          yydestruct ("Error: discarding",
                      yytoken, &yylval, &yylloc, scanner, ps);
          yychar = TOK_YYEMPTY;
        }
    }

  /* Else will try to reuse lookahead token after shifting the error
     token.  */
  goto yyerrlab1;


/*---------------------------------------------------.
| yyerrorlab -- error raised explicitly by YYERROR.  |
`---------------------------------------------------*/
yyerrorlab:
  /* Pacify compilers when the user code never invokes YYERROR and the
     label yyerrorlab therefore never appears in user code.  */
  if (0)
    YYERROR;
  ++yynerrs;

  /* Do not reclaim the symbols of the rule whose action triggered
     this YYERROR.  */
  YYPOPSTACK (yylen);
  yylen = 0;
  YY_STACK_PRINT (yyss, yyssp);
  yystate = *yyssp;
  goto yyerrlab1;


/*-------------------------------------------------------------.
| yyerrlab1 -- common code for both syntax error and YYERROR.  |
`-------------------------------------------------------------*/
yyerrlab1:
  yyerrstatus = 3;      /* Each real token shifted decrements this.  */

  /* Pop stack until we find a state that shifts the error token.  */
  for (;;)
    {
      yyn = yypact[yystate];
      if (!yypact_value_is_default (yyn))
        {
          yyn += YYSYMBOL_YYerror;
          if (0 <= yyn && yyn <= YYLAST && yycheck[yyn] == YYSYMBOL_YYerror)
            {
              yyn = yytable[yyn];
              if (0 < yyn)
                break;
            }
        }

      /* Pop the current state because it cannot handle the error token.  */
      if (yyssp == yyss)
        YYABORT;

      yyerror_range[1] = *yylsp;
      yydestruct ("Error: popping",
                  YY_ACCESSING_SYMBOL (yystate), yyvsp, yylsp, scanner, ps);
      YYPOPSTACK (1);
      yystate = *yyssp;
      YY_STACK_PRINT (yyss, yyssp);
    }

  /* If the stack popping above didn't lose the initial context for the
     current lookahead token, the shift below will for sure.  */
  YY_LAC_DISCARD ("error recovery");

  YY_IGNORE_MAYBE_UNINITIALIZED_BEGIN
  *++yyvsp = yylval;
  YY_IGNORE_MAYBE_UNINITIALIZED_END

  yyerror_range[2] = yylloc;
  ++yylsp;
  YYLLOC_DEFAULT (*yylsp, yyerror_range, 2);

  /* Shift the error token.  */
  YY_SYMBOL_PRINT ("Shifting", YY_ACCESSING_SYMBOL (yyn), yyvsp, yylsp);

  yystate = yyn;
  goto yynewstate;


/*-------------------------------------.
| yyacceptlab -- YYACCEPT comes here.  |
`-------------------------------------*/
yyacceptlab:
  yyresult = 0;
  goto yyreturnlab;


/*-----------------------------------.
| yyabortlab -- YYABORT comes here.  |
`-----------------------------------*/
yyabortlab:
  yyresult = 1;
  goto yyreturnlab;


/*-----------------------------------------------------------.
| yyexhaustedlab -- YYNOMEM (memory exhaustion) comes here.  |
`-----------------------------------------------------------*/
yyexhaustedlab:
  yyerror (&yylloc, scanner, ps, YY_("memory exhausted"));
  yyresult = 2;
  goto yyreturnlab;


/*----------------------------------------------------------.
| yyreturnlab -- parsing is finished, clean up and return.  |
`----------------------------------------------------------*/
yyreturnlab:
  if (yychar != TOK_YYEMPTY)
    {
      /* Make sure we have latest lookahead translation.  See comments at
         user semantic actions for why this is necessary.  */
      yytoken = YYTRANSLATE (yychar);
      yydestruct ("Cleanup: discarding lookahead",
                  yytoken, &yylval, &yylloc, scanner, ps);
    }
  /* Do not reclaim the symbols of the rule whose action triggered
     this YYABORT or YYACCEPT.  */
  YYPOPSTACK (yylen);
  YY_STACK_PRINT (yyss, yyssp);
  while (yyssp != yyss)
    {
      yydestruct ("Cleanup: popping",
                  YY_ACCESSING_SYMBOL (+*yyssp), yyvsp, yylsp, scanner, ps);
      YYPOPSTACK (1);
    }
#ifndef yyoverflow
  if (yyss != yyssa)
    YYSTACK_FREE (yyss);
#endif
  if (yyes != yyesa)
    YYSTACK_FREE (yyes);

  return yyresult;
}

#line 358 "lang/parser.y"


/* ------------------------------------------------------------- messages */

/* A token as the user wrote it: 'net', '}', 'foo', '42'. */
static void describe_found(const seg_parser *ps, yysymbol_kind_t t, char *buf, size_t n)
{
    switch (t) {
    case YYSYMBOL_YYEOF:
        snprintf(buf, n, "end of input");
        break;
    case YYSYMBOL_STRING:
        snprintf(buf, n, "string %s", ps->tok_text);
        break;
    case YYSYMBOL_NAME: case YYSYMBOL_INT: case YYSYMBOL_FLOAT:
        snprintf(buf, n, "'%s'", ps->tok_text);
        break;
    default: {
        const char *s = yysymbol_name(t);
        snprintf(buf, n, s[0] == '\'' ? "%s" : "'%s'", s);
    }
    }
}

/* One expected token, or NULL when a group ("an expression") covers it. */
static const char *describe_expected(yysymbol_kind_t t, char *buf, size_t n)
{
    switch (t) {
    case YYSYMBOL_YYEOF: return "end of input";
    case YYSYMBOL_NAME: return "a name";
    case YYSYMBOL_INT: return "an integer";
    case YYSYMBOL_FLOAT: return "a number";
    case YYSYMBOL_STRING: return "a string";
    default: {
        const char *s = yysymbol_name(t);
        snprintf(buf, n, s[0] == '\'' ? "%s" : "'%s'", s);
        return buf;
    }
    }
}

/* Groups of tokens named as one thing in messages. A group is named when
 * its `marker` token is expected (only that group's contexts expect it);
 * its members are then left out of the list. */
enum { G_EXPR = 1, G_DECL = 2, G_STMT = 4, G_ITEM = 8 };

static int group_of(yysymbol_kind_t t)
{
    switch (t) {
    case YYSYMBOL_NAME: return G_EXPR | G_DECL | G_STMT | G_ITEM;
    case YYSYMBOL_INT: case YYSYMBOL_FLOAT: case YYSYMBOL_STRING: case YYSYMBOL_TRUE:
    case YYSYMBOL_FALSE: case YYSYMBOL_NOT:
        return G_EXPR;
    case YYSYMBOL_IMPORT: case YYSYMBOL_BLOCK: case YYSYMBOL_NET: case YYSYMBOL_SCHEDULE:
    case YYSYMBOL_YYEOF:
        return G_DECL;
    case YYSYMBOL_INPUT: case YYSYMBOL_OUTPUT: case YYSYMBOL_RETURN: case YYSYMBOL_FOR:
    case YYSYMBOL_IF: case YYSYMBOL_SCOPE:
        return G_STMT;
    case YYSYMBOL_STAGE: return G_ITEM;
    default: /* character tokens have no stable kind names */
        return t == YYTRANSLATE('(') || t == YYTRANSLATE('[') || t == YYTRANSLATE('-')
                   ? G_EXPR : 0;
    }
}

static int groups_expected(const yysymbol_kind_t *exp, int n)
{
    int g = 0;
    for (int i = 0; i < n; i++) {
        g |= exp[i] == YYSYMBOL_INT ? G_EXPR : 0;
        g |= exp[i] == YYSYMBOL_IMPORT ? G_DECL : 0;
        g |= exp[i] == YYSYMBOL_INPUT ? G_STMT : 0;
        g |= exp[i] == YYSYMBOL_STAGE ? G_ITEM : 0;
    }
    return g;
}

/* A closer that closes nothing (the layer repairs those that close an
 * outer bracket) where the innermost ( or [ could be closed: name that
 * closer, as in "expected ']' before ')'". Else 0. */
static int closer_wanted(const seg_parser *ps, yysymbol_kind_t found,
                         const yysymbol_kind_t *exp, int n)
{
    if (ps->depth == 0 || (found != YYTRANSLATE(')') && found != YYTRANSLATE(']') &&
                           found != YYTRANSLATE('}')))
        return 0;
    int open = ps->open[ps->depth - 1];
    if (open == '{')
        return 0; /* a body expects so much that '}' says little */
    int want = open == '(' ? ')' : ']';
    for (int i = 0; i < n; i++)
        if (exp[i] == YYTRANSLATE(want))
            return want;
    return 0;
}

/* "unexpected X, expected A, B or C" / "expected A before X" /
 * "unexpected X". Tokens the layer inserted are never reported: the layer
 * already said what was missing. */
static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner, seg_parser *ps)
{
    (void)scanner;
    if (ps->stop || ps->last_synth || ps->reported_serial == ps->serial)
        return 0; /* given up, inserted by the layer, or already reported */
    ps->reported_serial = ps->serial;
    yysymbol_kind_t found = yypcontext_token(ctx);
    yysymbol_kind_t exp[YYNTOKENS];
    int n = yypcontext_expected_tokens(ctx, exp, YYNTOKENS);
    if (n < 0)
        n = 0;
    int groups = groups_expected(exp, n);

    enum { MAX_LIST = 4 };
    const char *list[MAX_LIST + 5];
    char bufs[MAX_LIST + 5][24];
    int k = 0;
    static const struct { int g; const char *name; } names[] = {
        {G_DECL, "a declaration"}, {G_STMT, "a statement"},
        {G_ITEM, "a schedule item"}, {G_EXPR, "an expression"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (groups & names[i].g)
            list[k++] = names[i].name;
    for (int i = 0; i < n && k <= MAX_LIST; i++)
        if (!(group_of(exp[i]) & groups)) {
            list[k] = describe_expected(exp[i], bufs[k], sizeof bufs[k]);
            k++;
        }

    char what[96], msg[256];
    describe_found(ps, found, what, sizeof what);
    int want = closer_wanted(ps, found, exp, n);
    if (want)
        snprintf(msg, sizeof msg, "expected '%c' before %s", want, what);
    else if (k == 1 && !groups && found == YYSYMBOL_YYEOF)
        snprintf(msg, sizeof msg, "expected %s at end of input", list[0]);
    else if (k == 1 && !groups)
        snprintf(msg, sizeof msg, "expected %s before %s", list[0], what);
    else if (k == 0 || k > MAX_LIST)
        snprintf(msg, sizeof msg, "unexpected %s", what);
    else {
        size_t at = (size_t)snprintf(msg, sizeof msg, "unexpected %s, expected ", what);
        for (int i = 0; i < k && at < sizeof msg; i++)
            at += (size_t)snprintf(msg + at, sizeof msg - at, "%s%s",
                                   i == 0 ? "" : i == k - 1 ? " or " : ", ", list[i]);
    }
    seg_parser_error(ps, *yypcontext_location(ctx), "%s", msg);
    if (found == YYSYMBOL_YYEOF)
        ps->eof_errors++;
    return 0;
}

/* Bison calls this only for "memory exhausted": its stack is full. */
static void yyerror(YYLTYPE *loc, yyscan_t scanner, seg_parser *ps, const char *msg)
{
    (void)scanner;
    if (strcmp(msg, "memory exhausted") == 0)
        seg_parser_error(ps, *loc, "nesting too deep");
    else
        seg_parser_error(ps, *loc, "%s", msg);
    ps->stop = 1;
}
