/* A Bison parser, made by GNU Bison 3.8.2.  */

/* Bison interface for Yacc-like parsers in C

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

/* DO NOT RELY ON FEATURES THAT ARE NOT DOCUMENTED in the manual,
   especially those whose name start with YY_ or yy_.  They are
   private implementation details that can be changed or removed.  */

#ifndef YY_YY_BUILD_DEBUG_GEN_PARSER_H_INCLUDED
# define YY_YY_BUILD_DEBUG_GEN_PARSER_H_INCLUDED
/* Debug traces.  */
#ifndef YYDEBUG
# define YYDEBUG 0
#endif
#if YYDEBUG
extern int yydebug;
#endif
/* "%code requires" blocks.  */
#line 40 "lang/parser.y"

#include "lang/parse_internal.h"

#ifndef YY_TYPEDEF_YY_SCANNER_T
#define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif

#line 58 "build-debug/gen/parser.h"

/* Token kinds.  */
#ifndef YYTOKENTYPE
# define YYTOKENTYPE
  enum yytokentype
  {
    TOK_YYEMPTY = -2,
    TOK_YYEOF = 0,                 /* "end of file"  */
    TOK_YYerror = 256,             /* error  */
    TOK_YYUNDEF = 257,             /* "invalid token"  */
    TOK_NAME = 258,                /* "name"  */
    TOK_INT = 259,                 /* "integer"  */
    TOK_FLOAT = 260,               /* "number"  */
    TOK_STRING = 261,              /* "string"  */
    TOK_IMPORT = 262,              /* "import"  */
    TOK_BLOCK = 263,               /* "block"  */
    TOK_NET = 264,                 /* "net"  */
    TOK_SCHEDULE = 265,            /* "schedule"  */
    TOK_STAGE = 266,               /* "stage"  */
    TOK_INPUT = 267,               /* "input"  */
    TOK_OUTPUT = 268,              /* "output"  */
    TOK_RETURN = 269,              /* "return"  */
    TOK_FOR = 270,                 /* "for"  */
    TOK_IN = 271,                  /* "in"  */
    TOK_STEP = 272,                /* "step"  */
    TOK_IF = 273,                  /* "if"  */
    TOK_ELSE = 274,                /* "else"  */
    TOK_SCOPE = 275,               /* "scope"  */
    TOK_TRUE = 276,                /* "true"  */
    TOK_FALSE = 277,               /* "false"  */
    TOK_AND = 278,                 /* "and"  */
    TOK_OR = 279,                  /* "or"  */
    TOK_NOT = 280,                 /* "not"  */
    TOK_POW = 281,                 /* "**"  */
    TOK_EQ = 282,                  /* "=="  */
    TOK_NE = 283,                  /* "!="  */
    TOK_LE = 284,                  /* "<="  */
    TOK_GE = 285,                  /* ">="  */
    TOK_DOTDOT = 286               /* ".."  */
  };
  typedef enum yytokentype yytoken_kind_t;
#endif

/* Value type.  */
#if ! defined YYSTYPE && ! defined YYSTYPE_IS_DECLARED
union YYSTYPE
{
#line 117 "lang/parser.y"

    const char *sval;
    int64_t ival;
    double fval;
    ast_binop op;
    ast_expr *expr;
    ast_stmt *stmt;
    ast_param *param;
    ast_expr_seq exprs;
    ast_stmt_seq stmts;
    ast_param_seq params;

#line 119 "build-debug/gen/parser.h"

};
typedef union YYSTYPE YYSTYPE;
# define YYSTYPE_IS_TRIVIAL 1
# define YYSTYPE_IS_DECLARED 1
#endif

/* Location type.  */
typedef seg_span YYLTYPE;




int yyparse (yyscan_t scanner, seg_parser *ps);

/* "%code provides" blocks.  */
#line 49 "lang/parser.y"

/* The token layer over the flex scanner (lexer.l). */
int seg_lex(YYSTYPE *lval, YYLTYPE *lloc, yyscan_t scanner);
/* Error recovery in a list (body 1: statements or items, 0: declarations)
 * with bison's lookahead la (TOK_YYEMPTY if none). Says what the `error`
 * action must do: drop la (the layer now skips ahead to a sync point) and
 * re-arm error reports. A lookahead that can start the next element is
 * kept, once; end of input is kept without re-arming, so that bison gives
 * up if it fails again. Either way recovery always makes progress. */
enum { SEG_SYNC_DROP = 1, SEG_SYNC_ERROK = 2 };
int seg_parse_sync(seg_parser *ps, int la, int body);

#line 149 "build-debug/gen/parser.h"

#endif /* !YY_YY_BUILD_DEBUG_GEN_PARSER_H_INCLUDED  */
